using System.Collections;
using System.Management.Automation;
using System.Text.RegularExpressions;
using RegistryCleaner.Configuration;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Where the set of images in use comes from for a cmdlet: a live read of Kubernetes (the Get-WorkloadImage
/// parameters -KubeConfig, -Context, -Namespace and their configuration defaults) or objects the user passes with
/// -InUse (WorkloadImage objects, also after Export-Csv/Import-Csv or Export-Clixml/Import-Clixml). Shared by every
/// cmdlet that must protect images in use.
/// </summary>
public static partial class UsageSource
{
    /// <summary>Builds the live scan options from the parameters, falling back to the kubernetes.* configuration.</summary>
    /// <param name="configuration">The configuration.</param>
    /// <param name="kubeConfig">-KubeConfig, already resolved to a file system path, or <see langword="null"/>.</param>
    /// <param name="contexts">-Context, or <see langword="null"/>.</param>
    /// <param name="namespaces">-Namespace, or <see langword="null"/>.</param>
    /// <param name="timeout">The per-request timeout.</param>
    /// <param name="progress">Receives listing progress, or <see langword="null"/>.</param>
    /// <returns>The options.</returns>
    public static WorkloadScanOptions ScanOptions(
        RegistryCleanerConfiguration configuration,
        string? kubeConfig,
        string[]? contexts,
        string[]? namespaces,
        TimeSpan timeout,
        IProgress<WorkloadListingProgress>? progress)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new WorkloadScanOptions
        {
            KubeConfigPath = kubeConfig ?? configuration.GetString(ConfigSchema.KubeConfig),
            Contexts = contexts ?? configuration.GetList(ConfigSchema.Contexts),
            Namespaces = namespaces ?? configuration.GetList(ConfigSchema.Namespaces),
            RequestTimeout = timeout,
            Progress = progress,
        };
    }

    /// <summary>
    /// Says, for a warning, what a narrowed live read leaves unprotected (named namespaces or contexts);
    /// <see langword="null"/> when it reads every namespace of the current context.
    /// </summary>
    /// <param name="options">The scan options.</param>
    /// <returns>The warning text, or <see langword="null"/>.</returns>
    public static string? DescribeNarrowing(WorkloadScanOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool namespaces = options.Namespaces.Count > 0;
        bool contexts = options.Contexts.Count > 0;
        if (!namespaces && !contexts)
        {
            return null;
        }

        string cluster = !contexts ? "the current context" : $"{(options.Contexts.Count == 1 ? "context" : "contexts")} {string.Join(", ", options.Contexts)}";
        return namespaces
            ? $"Image usage is read only from namespaces {string.Join(", ", options.Namespaces)} of {cluster}: images that workloads in other namespaces{(contexts ? " or clusters" : string.Empty)} use are not protected."
            : $"Image usage is read only from {cluster}: images that workloads in other clusters use are not protected.";
    }

    /// <summary>Reads usage live; throws <see cref="WorkloadAccessException"/> when anything cannot be read (fail closed).</summary>
    /// <param name="options">What to read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The complete usage snapshot.</returns>
    public static async Task<UsageSnapshot> ReadLiveAsync(WorkloadScanOptions options, CancellationToken cancellationToken)
    {
        WorkloadScan scan = await KubernetesWorkloadScanner.ScanAsync(options, cancellationToken).ConfigureAwait(false);
        return scan.ToUsageSnapshot();
    }

    /// <summary>
    /// Builds a complete usage snapshot from -InUse objects, reading Image, Registry, Repository, Tag and Digests by
    /// name. Lists may be lists (pipeline, Import-Clixml) or the <c>a;b;c</c> text Export-Csv writes of them. An object
    /// whose digests an older Export-Csv flattened to a type name (<c>System.String[]</c>) is refused: digest protection
    /// would be lost silently.
    /// </summary>
    /// <param name="objects">The objects.</param>
    /// <param name="skipped">
    /// Receives a warning for each object whose Image is empty, blank or not a reference and that has no Repository
    /// (an OpenShift placeholder, say): it is skipped, and only its Digests protect. <see langword="null"/> refuses it instead.
    /// </param>
    /// <returns>The snapshot, marked complete: the user vouches for it.</returns>
    /// <exception cref="ArgumentException">An object has neither an Image nor a Repository, or unreadable Digests.</exception>
    public static UsageSnapshot FromInUse(IReadOnlyList<PSObject> objects, ICollection<string>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var images = new List<ImageUsage>(objects.Count);
        var running = new List<string>();
        foreach (PSObject item in objects)
        {
            if (item is null)
            {
                continue;
            }

            string? image = Text(item, "Image");
            string? repository = Text(item, "Repository");
            string? registry = Text(item, "Registry");
            string? tag = Text(item, "Tag");
            string? pinned = null;
            if (image is not null && ImageReferenceParser.TryParse(image, out ImageReference? parsed))
            {
                repository ??= parsed.Repository;
                registry ??= parsed.Registry;
                tag ??= parsed.Tag;
                pinned = parsed.Digest;
            }

            if (repository is null && skipped is not null && item.Properties["Image"] is not null)
            {
                // One odd workload must not block the whole set: it names no image, so it can only protect its digests.
                IReadOnlyList<string> kept = Digests(item, image ?? string.Empty);
                running.AddRange(kept);
                string who = Names(item, "Workloads").Concat(Names(item, "Pods").Select(static pod => "Pod/" + pod)).FirstOrDefault() ?? "an -InUse object";
                skipped.Add($"-InUse: {who} uses the image '{image ?? string.Empty}', which is {(string.IsNullOrEmpty(image) ? "empty" : "not a valid image reference")}; it is skipped and protects {(kept.Count == 0 ? "nothing" : "only its digests " + string.Join(", ", kept))}.");
                continue;
            }

            if (repository is null)
            {
                throw new ArgumentException($"-InUse: '{image ?? item.ToString()}' has no Repository and no Image that is a valid image reference, so what it protects is unknown.");
            }

            IReadOnlyList<string> digests = Digests(item, image ?? repository);
            string original = image ?? $"{registry}/{repository}{(tag is null ? string.Empty : ":" + tag)}";
            // Name what uses the image (as Get-WorkloadImage reported it), so a kept image's reason points at a workload.
            string[] usedBy = [.. Names(item, "Pods").Select(static pod => "Pod/" + pod), .. Names(item, "Workloads")];
            images.Add(new ImageUsage(
                new ImageReference(original, registry ?? string.Empty, repository.Trim('/'), tag, pinned),
                digests,
                usedBy.Length > 0 ? usedBy : ["-InUse"]));
        }

        return new UsageSnapshot(images, running, [$"-InUse ({images.Count} images)"], DateTimeOffset.UtcNow, Complete: true);
    }

    private static string? Text(PSObject item, string name) =>
        item.Properties[name]?.Value is { } value && LanguagePrimitives.ConvertTo<string>(value) is { Length: > 0 } text ? text.Trim() : null;

    private static IEnumerable<string> Names(PSObject item, string name)
    {
        object? value = item.Properties[name]?.Value;
        if (value is PSObject wrapped)
        {
            value = wrapped.BaseObject;
        }

        // A list as Get-WorkloadImage or Import-Clixml gives it, or the a;b;c text Export-Csv writes of it; the type name
        // an older Export-Csv wrote instead ("System.String[]") names nothing.
        return value switch
        {
            string text when FlattenedPattern().IsMatch(text) => [],
            string text => TextList.Parse(text),
            IEnumerable list => list.Cast<object?>().Select(static v => v?.ToString()).Where(static v => !string.IsNullOrWhiteSpace(v)).Select(static v => v!),
            _ => [],
        };
    }

    private static IReadOnlyList<string> Digests(PSObject item, string what)
    {
        object? value = item.Properties["Digests"]?.Value;
        if (value is PSObject wrapped)
        {
            value = wrapped.BaseObject;
        }

        var result = new List<string>();
        switch (value)
        {
            case null:
                break;
            case string text when FlattenedPattern().IsMatch(text):
                throw new ArgumentException(
                    $"-InUse: the Digests of '{what}' read '{text}': a CSV written before Digests exported as sha256:a;sha256:b lost them. Export Get-WorkloadImage to CSV again (or use Export-Clixml/Import-Clixml) so the digests in use are protected.");
            case string text:
                // Export-Csv writes the digests joined with ';' (TextList); spaces and commas are accepted too.
                foreach (string part in text.Split([' ', ',', ';', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!DigestPattern().IsMatch(part))
                    {
                        throw new ArgumentException(
                            $"-InUse: the Digests of '{what}' read '{text}', which is not a list of digests separated by ';'. Export Get-WorkloadImage to CSV as it is, or use Export-Clixml/Import-Clixml.");
                    }

                    result.Add(part.ToLowerInvariant());
                }

                break;
            case IEnumerable list:
                foreach (object? entry in list)
                {
                    if (LanguagePrimitives.ConvertTo<string>(entry) is { Length: > 0 } digest)
                    {
                        result.Add(digest.Trim().ToLowerInvariant());
                    }
                }

                break;
            default:
                result.Add(LanguagePrimitives.ConvertTo<string>(value).Trim().ToLowerInvariant());
                break;
        }

        return result;
    }

    [GeneratedRegex("^[A-Za-z0-9+._-]+:[0-9A-Fa-f]{32,}$")]
    private static partial Regex DigestPattern();

    /// <summary>The type name Export-Csv writes for a list without a readable ToString, e.g. <c>System.String[]</c>.</summary>
    [GeneratedRegex(@"^\s*System\.[A-Za-z0-9_.`]+(\[\])?(\[[A-Za-z0-9_.,\[\] ]*\])?\s*$")]
    private static partial Regex FlattenedPattern();
}
