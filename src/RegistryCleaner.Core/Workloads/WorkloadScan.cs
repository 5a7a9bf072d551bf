using RegistryCleaner.Domino;

namespace RegistryCleaner.Workloads;

/// <summary>
/// The result of reading workloads (live clusters or kubectl snapshots): the report rows for <c>Get-WorkloadImage</c>
/// and the <see cref="UsageSnapshot"/> that protects images from deletion, both from the same read.
/// </summary>
public sealed class WorkloadScan
{
    private readonly IReadOnlyList<ScannedImage> images;
    private readonly IReadOnlyList<string> runningDigests;

    internal WorkloadScan(
        IReadOnlyList<ScannedImage> images,
        IReadOnlyList<string> runningDigests,
        IReadOnlyList<string> sources,
        IReadOnlyList<string> notes,
        IReadOnlyList<string> warnings,
        DateTimeOffset readAt,
        bool complete)
    {
        this.images = images;
        this.runningDigests = runningDigests;
        Sources = sources;
        Notes = notes;
        Warnings = warnings;
        ReadAt = readAt;
        Complete = complete;
    }

    /// <summary>What was read: one entry per context or file, naming kinds and namespaces.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>
    /// Things worth telling the user that did not stop the read: unknown kinds in snapshots, invalid image references.
    /// </summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>
    /// Things the user must hear about that did not stop the read: workloads whose image is empty or blank (OpenShift
    /// placeholders), skipped because they name no image.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>When the read started.</summary>
    public DateTimeOffset ReadAt { get; }

    /// <summary>
    /// Whether every kind in every namespace in scope was read. A live scan that cannot read everything throws instead
    /// of returning, so this is <see langword="true"/> for every scan handed out; it is carried into the snapshot.
    /// </summary>
    public bool Complete { get; }

    /// <summary>
    /// Digests known to run whose repository could not be tied to the reference of their container: bare
    /// <c>imageID</c> values and IDs naming another repository (they are also in that container's
    /// <see cref="WorkloadImage.Digests"/>, so offline usage carries them). A <c>docker://sha256:…</c> ID is the local
    /// image (config) digest; it is kept too, since protecting a digest that matches no manifest costs nothing.
    /// </summary>
    public IReadOnlyList<string> RunningDigests => runningDigests;

    /// <summary>The report rows, one per distinct reference as written, sorted by <see cref="WorkloadImage.Image"/>.</summary>
    /// <param name="podPrefixes">
    /// When given and not empty, only pods and controllers whose name starts with one of these prefixes are reported
    /// (ordinal comparison), and images with no such user are left out. This filters the report only:
    /// <see cref="ToUsageSnapshot"/> always protects everything read.
    /// </param>
    /// <returns>The rows.</returns>
    public IReadOnlyList<WorkloadImage> GetImages(IReadOnlyCollection<string>? podPrefixes = null)
    {
        bool filter = podPrefixes is { Count: > 0 };
        var rows = new List<WorkloadImage>(images.Count);
        foreach (ScannedImage image in images)
        {
            IReadOnlyList<WorkloadUser> users = filter
                ? image.Users.Where(user => podPrefixes!.Any(prefix => user.Name.StartsWith(prefix, StringComparison.Ordinal))).ToArray()
                : image.Users;
            if (filter && users.Count == 0)
            {
                continue;
            }

            string[] pods = users.Where(user => user.Kind == "Pod").Select(user => $"{user.Namespace}/{user.Name}").ToArray();
            rows.Add(new WorkloadImage(
                image.Image,
                image.Reference?.Registry,
                image.Reference?.Repository,
                image.Reference?.Tag,
                image.Digests,
                ObjectId.FromTag(image.Reference?.Tag),
                pods,
                pods.Length,
                users.Where(user => user.Kind != "Pod").Select(user => user.Key).ToArray(),
                Distinct(users.Select(user => user.Namespace)),
                Distinct(users.Select(user => user.WorkloadType)),
                Distinct(users.Select(user => user.ProjectName)),
                Distinct(users.Select(user => user.ProjectOwner))));
        }

        return rows;
    }

    /// <summary>
    /// The in-use set for the deletion planner: every valid reference read (never filtered), its digests and users,
    /// the running digests without a reference, the sources, the read time and completeness.
    /// </summary>
    /// <returns>The snapshot.</returns>
    public UsageSnapshot ToUsageSnapshot() => new(
        images
            .Where(image => image.Reference is not null)
            .Select(image => new ImageUsage(image.Reference!, image.Digests, image.Users.Select(user => user.Key).ToArray()))
            .ToArray(),
        runningDigests,
        Sources,
        ReadAt,
        Complete)
    {
        Warnings = this.Warnings,
    };

    private static string[] Distinct(IEnumerable<string?> values) =>
        values.OfType<string>().Where(value => value.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    internal sealed record ScannedImage(string Image, ImageReference? Reference, IReadOnlyList<string> Digests, IReadOnlyList<WorkloadUser> Users);
}
