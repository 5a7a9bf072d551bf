using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// Reads what <c>registry garbage-collect</c> prints, line by line (a large registry prints a line per marked blob,
/// so only what matters is kept): the blobs it deletes (or would, with <c>--dry-run</c>), its summary line, and the
/// last lines for error messages.
/// </summary>
public sealed partial class GarbageCollectOutput
{
    private const int TailLines = 40;
    private readonly List<string> eligible = [];
    private readonly Queue<string> tail = new();

    /// <summary>Gets the blobs garbage collection deletes (or would delete), in its order.</summary>
    public IReadOnlyList<string> EligibleBlobs => this.eligible;

    /// <summary>Gets the number of blobs the mark phase kept, from the summary line.</summary>
    public int? BlobsMarked { get; private set; }

    /// <summary>Gets the number of blobs the summary line says are eligible.</summary>
    public int? BlobsEligible { get; private set; }

    /// <summary>Gets the number of manifests eligible (only with <c>--delete-untagged</c>), from the summary line.</summary>
    public int ManifestsEligible { get; private set; }

    /// <summary>Gets whether the summary line was seen (garbage collection got through its mark phase).</summary>
    public bool Summarised => this.BlobsEligible is not null;

    /// <summary>Gets the last lines printed, for messages.</summary>
    public string Tail => string.Join('\n', this.tail);

    /// <summary>Reads one line of output (standard output or standard error).</summary>
    /// <param name="line">The line.</param>
    public void Add(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (EligiblePattern().Match(line) is { Success: true } blob)
        {
            this.eligible.Add(blob.Groups["digest"].Value);
            return;
        }

        if (SummaryPattern().Match(line) is { Success: true } summary)
        {
            this.BlobsMarked = int.Parse(summary.Groups["marked"].Value, CultureInfo.InvariantCulture);
            this.BlobsEligible = int.Parse(summary.Groups["blobs"].Value, CultureInfo.InvariantCulture);
            this.ManifestsEligible = summary.Groups["manifests"].Success ? int.Parse(summary.Groups["manifests"].Value, CultureInfo.InvariantCulture) : 0;
        }

        // Per-repository "marking" lines are most of the output and say nothing new.
        if (!line.Contains(": marking ", StringComparison.Ordinal))
        {
            this.tail.Enqueue(line.Length > 500 ? line[..500] : line);
            if (this.tail.Count > TailLines)
            {
                this.tail.Dequeue();
            }
        }
    }

    [GeneratedRegex(@"^blob eligible for deletion: (?<digest>sha256:[0-9a-f]{64})\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex EligiblePattern();

    [GeneratedRegex(@"^(?<marked>\d+) blobs marked, (?<blobs>\d+) blobs (and (?<manifests>\d+) manifests )?eligible for deletion\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SummaryPattern();
}

/// <summary>The version a registry binary reports (<c>registry --version</c>).</summary>
/// <param name="Text">What it printed.</param>
/// <param name="Version">The version number, when one could be read.</param>
public sealed partial record RegistryVersion(string Text, Version? Version)
{
    /// <summary>Gets the pre-release label after the version number (<c>alpha.1</c> of <c>v3.0.0-alpha.1</c>), or <see langword="null"/> for a release.</summary>
    public string? PreRelease { get; init; }

    /// <summary>
    /// Gets whether <c>--delete-untagged</c> keeps the children of multi-architecture indexes: distribution 2.x deletes
    /// them (distribution#3178); 3.0 fixed it. A 3.0.0 pre-release does not count: the fix landed during the 3.0
    /// pre-releases, so which of them has it cannot be told from the number.
    /// </summary>
    public bool DeleteUntaggedKeepsIndexChildren => this.Version is { Major: >= 3 } version && !(this.PreRelease is not null && version is { Major: 3, Minor: 0, Build: 0 });

    /// <summary>Reads the version out of <c>--version</c> output, e.g. <c>docker-registry github.com/docker/distribution 2.8.2+ds1</c>.</summary>
    /// <param name="output">The output.</param>
    /// <returns>The version.</returns>
    public static RegistryVersion Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string text = output.Trim();
        Match match = VersionPattern().Match(text);
        return new RegistryVersion(
            text.Length > 200 ? text[..200] : text,
            match.Success ? new Version(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture)) : null)
        {
            PreRelease = match.Success && match.Groups["pre"].Success ? match.Groups["pre"].Value : null,
        };
    }

    /// <inheritdoc/>
    public override string ToString() => this.Version is { } version
        ? (this.PreRelease is null ? version.ToString() : $"{version}-{this.PreRelease}")
        : (this.Text.Length == 0 ? "unknown" : this.Text);

    // Semantic versioning: a pre-release follows a hyphen (3.0.0-alpha.1); build metadata follows a plus (2.8.2+ds1).
    [GeneratedRegex(@"(?:^|[\s/v])v?(\d+)\.(\d+)\.(\d+)(?:-(?<pre>[0-9A-Za-z][0-9A-Za-z.-]*))?", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}

/// <summary>
/// What a registry's <c>config.yml</c> (with the <c>REGISTRY_*</c> environment variables that override it) says about
/// its storage: which driver, and for the filesystem driver where the blobs are.
/// </summary>
/// <param name="Driver">The storage driver (<c>filesystem</c>, <c>s3</c>, <c>gcs</c>, <c>azure</c>, <c>inmemory</c>, ...).</param>
/// <param name="RootDirectory">The filesystem driver's root directory; <see langword="null"/> for other drivers.</param>
public sealed record RegistryStorageSettings(string Driver, string? RootDirectory)
{
    /// <summary>The filesystem driver's default root directory.</summary>
    public const string DefaultRootDirectory = "/var/lib/registry";

    // Keys under storage: that configure the registry, not a driver.
    private static readonly HashSet<string> NotDrivers = new(StringComparer.Ordinal) { "delete", "maintenance", "cache", "redirect", "tag" };

    /// <summary>Reads the storage settings.</summary>
    /// <param name="yaml">The config.yml text.</param>
    /// <param name="environment">The registry's environment (its <c>REGISTRY_STORAGE*</c> variables override the file).</param>
    /// <param name="source">Where the text came from, for messages.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="FormatException">The text is not YAML or has no storage section.</exception>
    public static RegistryStorageSettings Parse(string yaml, IReadOnlyDictionary<string, string> environment, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(environment);
        string? driver = null;
        string? root = null;
        try
        {
            var stream = new YamlStream();
            using (var reader = new StringReader(yaml))
            {
                stream.Load(reader);
            }

            if (stream.Documents.Count > 0
                && stream.Documents[0].RootNode is YamlMappingNode document
                && document.Children.TryGetValue(new YamlScalarNode("storage"), out YamlNode? storageNode)
                && storageNode is YamlMappingNode storage)
            {
                foreach ((YamlNode key, YamlNode value) in storage.Children)
                {
                    if (key is YamlScalarNode { Value: { } name } && !NotDrivers.Contains(name))
                    {
                        driver = name;
                        if (name == "filesystem" && value is YamlMappingNode filesystem
                            && filesystem.Children.TryGetValue(new YamlScalarNode("rootdirectory"), out YamlNode? rootNode)
                            && rootNode is YamlScalarNode { Value: { Length: > 0 } directory })
                        {
                            root = directory;
                        }
                    }
                }
            }
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new FormatException($"The registry configuration {source} is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {ex.Message}", ex);
        }

        // REGISTRY_STORAGE=<driver> selects a driver; REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY moves its root.
        if (environment.TryGetValue("REGISTRY_STORAGE", out string? fromEnvironment) && fromEnvironment.Length > 0)
        {
            driver = fromEnvironment.Trim();
        }

        if (environment.TryGetValue("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", out string? rootFromEnvironment) && rootFromEnvironment.Length > 0)
        {
            driver ??= "filesystem";
            root = driver == "filesystem" ? rootFromEnvironment : root;
        }

        if (driver is null)
        {
            throw new FormatException($"The registry configuration {source} has no storage driver (storage.filesystem, storage.s3, ...), so it is not a registry's config.yml.");
        }

        return new RegistryStorageSettings(driver, driver == "filesystem" ? root ?? DefaultRootDirectory : null);
    }

    /// <summary>Gets where the filesystem driver keeps a blob's content.</summary>
    /// <param name="digest">The blob digest (<c>sha256:…</c>).</param>
    /// <returns>The path, or <see langword="null"/> for other drivers.</returns>
    public string? BlobDataPath(string digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        if (this.RootDirectory is null || !digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71)
        {
            return null;
        }

        string hex = digest[7..];
        return $"{this.RootDirectory.TrimEnd('/')}/docker/registry/v2/blobs/sha256/{hex[..2]}/{hex}/data";
    }
}
