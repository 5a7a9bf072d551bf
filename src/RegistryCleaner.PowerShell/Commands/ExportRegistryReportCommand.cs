using System.Globalization;
using System.Management.Automation;
using System.Text;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Reporting;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>The report Export-RegistryReport wrote.</summary>
/// <param name="Path">The full path of the HTML file.</param>
/// <param name="Images">The images (tags) counted.</param>
/// <param name="Bytes">The bytes the images' blobs take, each blob counted once (an upper bound when only images were piped).</param>
/// <param name="ReclaimableBytes">The sum of the candidates' ReclaimableBytes.</param>
/// <param name="Candidates">The deletion candidates.</param>
public sealed record RegistryReport(string Path, int Images, long Bytes, long ReclaimableBytes, int Candidates);

/// <summary>
/// Writes one self-contained HTML page about a registry: what takes the space, who owns it, and what deleting the unused images gets back.
/// </summary>
[Cmdlet(VerbsData.Export, "RegistryReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(OutputTypeNames.RegistryReport)]
public sealed class ExportRegistryReportCommand : UnusedImageCmdlet
{
    private readonly List<PSObject> images = [];
    private readonly List<PSObject> candidates = [];
    private readonly List<PSObject> layers = [];
    private readonly List<PSObject> workloads = [];
    private string? fullPath;

    /// <summary>The HTML file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Replaces an existing file at -Path.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>What to report on, piped: Get-RegistryImage output (the inventory), Get-UnusedImage output (the plan), Get-RegistryLayer output (to count each blob once) and Get-WorkloadImage output (the images in use; alone, it is the usage for a fresh plan).</summary>
    [Parameter(ValueFromPipeline = true)]
    [AllowNull]
    public PSObject[]? InputObject { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // Decided before anything is read: a report that could not be written must not cost a whole registry read.
        this.fullPath = this.ResolveFilePath(this.Path);
        if (Directory.Exists(this.fullPath))
        {
            throw this.Terminate(
                new IOException($"-Path '{this.fullPath}' is a folder. Name the HTML file to write, e.g. {System.IO.Path.Combine(this.fullPath, "report.html")}."),
                ErrorIds.ReportPathInvalid,
                ErrorCategory.InvalidArgument,
                this.fullPath);
        }

        if (File.Exists(this.fullPath) && !this.Force.IsPresent)
        {
            throw this.FileExists(this.fullPath);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (this.InputObject is null)
        {
            return;
        }

        foreach (PSObject? item in this.InputObject)
        {
            if (item is null)
            {
                continue;
            }

            switch (KindOf(item))
            {
                case OutputTypeNames.RegistryImage:
                    this.images.Add(item);
                    break;
                case OutputTypeNames.UnusedImage:
                    this.candidates.Add(item);
                    break;
                case OutputTypeNames.RegistryLayer:
                    this.layers.Add(item);
                    break;
                case OutputTypeNames.WorkloadImage:
                    this.workloads.Add(item);
                    break;
                default:
                    this.WriteError(new ErrorRecord(
                        new ArgumentException($"Export-RegistryReport reports on Get-RegistryImage, Get-UnusedImage, Get-RegistryLayer and Get-WorkloadImage output, but a {item.TypeNames.FirstOrDefault() ?? "object"} was piped; it is not in the report."),
                        ErrorIds.ReportInputInvalid,
                        ErrorCategory.InvalidType,
                        item));
                    break;
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        RegistryReportData data;
        if (this.images.Count > 0 || this.candidates.Count > 0 || this.layers.Count > 0)
        {
            if (this.images.Count == 0 && this.candidates.Count == 0)
            {
                throw this.Terminate(
                    new ArgumentException("Only Get-RegistryLayer output came through the pipeline: there are no images to report on. Pipe Get-RegistryImage and Get-UnusedImage output too, or run Export-RegistryReport without pipeline input to read the registry."),
                    ErrorIds.ReportInputEmpty,
                    ErrorCategory.InvalidArgument,
                    null);
            }

            data = this.FromPipeline();
        }
        else
        {
            if (this.MyInvocation.ExpectingInput && this.workloads.Count == 0)
            {
                // Fail closed like Get-UnusedImage: an empty pipeline is a filter that matched nothing, not "report on nothing".
                throw this.Terminate(
                    new ArgumentException("Nothing came through the pipeline, so there is nothing to report on. Pipe Get-RegistryImage and Get-UnusedImage output, or run Export-RegistryReport without pipeline input to read the registry and plan."),
                    ErrorIds.ReportInputEmpty,
                    ErrorCategory.InvalidArgument,
                    null);
            }

            if (this.workloads.Count > 0 && this.InUse is not null)
            {
                throw this.Terminate(
                    new ArgumentException("-InUse is given and Get-WorkloadImage output is piped to Export-RegistryReport, which takes it as the images in use too. Pass usage one way."),
                    ErrorIds.InUseInvalid,
                    ErrorCategory.InvalidArgument,
                    null);
            }

            data = this.FromRegistry();
        }

        string html = RegistryReportPage.Render(data);
        var report = new RegistryReport(this.fullPath!, data.Images.Count, data.StoredBytes, data.ReclaimableBytes, data.Candidates.Count);
        string action = string.Create(
            CultureInfo.InvariantCulture,
            $"Write the registry report ({report.Images} images, {ByteCount.Format(report.Bytes)} stored, {report.Candidates} candidates, {ByteCount.Format(report.ReclaimableBytes)} reclaimable){(File.Exists(this.fullPath) ? ", replacing the file" : string.Empty)}");
        if (!this.ShouldProcess(this.fullPath, action))
        {
            return;
        }

        this.WriteAtomically(this.fullPath!, html);
        this.WriteTyped(report, OutputTypeNames.RegistryReport);
    }

    /// <summary>The module's PSTypeName of a piped object (also after Import-Clixml or Import-Csv), or <see langword="null"/>.</summary>
    private static string? KindOf(PSObject item)
    {
        foreach (string name in item.TypeNames)
        {
            string type = name.Replace("Deserialized.", string.Empty, StringComparison.Ordinal).Replace("CSV:", string.Empty, StringComparison.Ordinal);
            if (type is OutputTypeNames.RegistryImage or OutputTypeNames.UnusedImage or OutputTypeNames.RegistryLayer or OutputTypeNames.WorkloadImage)
            {
                return type;
            }
        }

        return null;
    }

    private static T? Get<T>(PSObject item, string name)
    {
        object? value = item.Properties[name]?.Value;
        if (value is null || (value is string text && text.Length == 0 && typeof(T) != typeof(string)))
        {
            return default;
        }

        return LanguagePrimitives.ConvertTo<T>(value is PSObject wrapped ? wrapped.BaseObject : value);
    }

    private static DateTimeOffset? GetCreated(PSObject item)
    {
        object? value = item.Properties["Created"]?.Value;
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        return value switch
        {
            null => null,
            DateTimeOffset created => created,
            DateTime created => new DateTimeOffset(created.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(created, DateTimeKind.Utc) : created),
            string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset parsed) => parsed,
            _ => null,
        };
    }

    private static IEnumerable<string> GetList(PSObject item, string name)
    {
        object? value = item.Properties[name]?.Value;
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        return value switch
        {
            null => [],
            string text => text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            System.Collections.IEnumerable list => list.Cast<object?>().Select(static o => o?.ToString()).OfType<string>(),
            _ => [value.ToString() ?? string.Empty],
        };
    }

    private static ReportImage ImageOf(PSObject item) =>
        new(Get<string>(item, "Repository") ?? string.Empty, Get<string>(item, "Tag"), Get<string>(item, "Digest") ?? string.Empty, Get<long>(item, "Size"), GetCreated(item), Get<string>(item, "ObjectId"))
        {
            EnvironmentName = Get<string>(item, "EnvironmentName"),
            Project = Get<string>(item, "Project"),
            Owner = Get<string>(item, "Owner"),
        };

    private RegistryReportData FromPipeline()
    {
        var candidateList = this.candidates.Select(c => new ReportCandidate(ImageOf(c), Get<long>(c, "ReclaimableBytes"), Get<string>(c, "Reason") ?? string.Empty)).ToList();
        var imageList = this.images.Select(ImageOf).ToList();
        var candidateKeys = new HashSet<(string, string?, string)>(candidateList.Select(static c => (c.Image.Repository, c.Image.Tag, c.Image.Digest)));
        if (imageList.Count == 0)
        {
            imageList = [.. candidateList.Select(static c => c.Image)];
        }
        else
        {
            // A candidate's owner is known when Get-RegistryImage read Domino's records and Get-UnusedImage did not.
            var byTag = imageList.GroupBy(static i => (i.Repository, i.Tag)).ToDictionary(static g => g.Key, static g => g.First());
            candidateList = [.. candidateList.Select(c => byTag.TryGetValue((c.Image.Repository, c.Image.Tag), out ReportImage? known) && c.Image.Owner is null && c.Image.EnvironmentName is null
                ? c with { Image = c.Image with { EnvironmentName = known.EnvironmentName, Project = known.Project, Owner = known.Owner } }
                : c)];
        }

        var kept = new List<ReportKept>();
        if (this.candidates.Count > 0)
        {
            Dictionary<(string, string), string> used = this.WorkloadTags();
            foreach (ReportImage image in imageList.Where(i => !candidateKeys.Contains((i.Repository, i.Tag, i.Digest))))
            {
                string reason = image.Tag is not null && used.TryGetValue((image.Repository, image.Tag), out string? users)
                    ? $"in use by {users}"
                    : "not a candidate in the plan given (Get-UnusedImage keeps it, or it is out of its scope)";
                kept.Add(new ReportKept(image.Repository, image.Tag, image.Digest, image.Size, reason));
            }
        }

        long stored;
        bool exact;
        if (this.layers.Count > 0)
        {
            stored = ByteTotal.Sum(this.layers.GroupBy(l => Get<string>(l, "Digest") ?? string.Empty, StringComparer.Ordinal).Select(g => Get<long>(g.First(), "Size")));
            exact = true;
        }
        else
        {
            // Without per-blob sizes, the same manifest counts once; layers shared between manifests count per manifest.
            stored = ByteTotal.Sum(imageList.GroupBy(static i => i.Digest, StringComparer.Ordinal).Select(static g => g.First().Size));
            exact = false;
        }

        string registry = string.Join(", ", this.images.Concat(this.candidates).Select(o => Get<string>(o, "Registry")).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase));
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Made from piped objects: {this.images.Count} images, {this.candidates.Count} candidates, {this.layers.Count} blobs, {this.workloads.Count} images in use."),
        };
        return new RegistryReportData(registry.Length == 0 ? "registry" : registry, DateTimeOffset.UtcNow, imageList, candidateList, kept, stored)
        {
            StoredBytesExact = exact,
            HasPlan = this.candidates.Count > 0,
            WorkloadImages = this.workloads.Count > 0 ? this.workloads.Count : null,
            Notes = notes,
        };
    }

    private Dictionary<(string, string), string> WorkloadTags()
    {
        var used = new Dictionary<(string, string), string>();
        foreach (PSObject workload in this.workloads)
        {
            if (Get<string>(workload, "Repository") is { } repository && Get<string>(workload, "Tag") is { } tag)
            {
                string who = string.Join(", ", GetList(workload, "Workloads").Concat(GetList(workload, "Pods")).Take(3));
                used.TryAdd((repository, tag), who.Length == 0 ? "a workload" : who);
            }
        }

        return used;
    }

    private RegistryReportData FromRegistry()
    {
        UnusedImagePlan planned = this.PlanUnusedImages(this.BoundQuery(this.workloads.Count > 0 ? this.workloads : this.InUse));
        using (planned.Client)
        {
            RegistryInventory inventory = planned.Inventory!;
            DeletionPlan plan = planned.Plan;
            ReportImage Describe(ReportImage image) =>
                DominoOwner(planned.Domino, image.Repository, image.Tag) is { } owner
                    ? image with { EnvironmentName = owner.EnvironmentName, Project = owner.Project, Owner = owner.Owner ?? owner.OwnerName }
                    : image;

            var imageList = InventoryViews.Images(inventory)
                .Select(i => Describe(new ReportImage(i.Repository, i.Tag, i.Digest, i.Size, i.Created, i.ObjectId)))
                .OrderBy(static i => i.Repository, StringComparer.Ordinal)
                .ThenBy(static i => i.Tag, StringComparer.Ordinal)
                .ToList();
            var sizeByDigest = imageList.GroupBy(static i => (i.Repository, i.Digest)).ToDictionary(static g => g.Key, static g => g.First().Size);
            var candidateList = plan.Candidates
                .Select(c => new ReportCandidate(Describe(new ReportImage(c.Repository, c.Tag, c.Digest, c.Size, c.Created, c.ObjectId)), c.ReclaimableBytes, c.Reason))
                .ToList();
            var kept = plan.Protected
                .Select(k => new ReportKept(k.Repository, k.Tag, k.Digest, k.Digest is not null && sizeByDigest.TryGetValue((k.Repository, k.Digest), out long size) ? size : 0, k.Reason))
                .ToList();

            // Every blob the registry stores for these images, once: manifests, configurations and layers (foreign
            // layers may live outside the registry, so they are not counted as stored).
            var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (ManifestRecord manifest in inventory.Manifests)
            {
                blobs.TryAdd(manifest.Digest, manifest.ManifestSize);
                if (manifest.Config is { } config)
                {
                    blobs.TryAdd(config.Digest, config.Size);
                }

                foreach (BlobDescriptor layer in manifest.Layers.Where(static l => !l.IsForeign))
                {
                    blobs.TryAdd(layer.Digest, layer.Size);
                }
            }

            var notes = new List<string>
            {
                string.Create(CultureInfo.InvariantCulture, $"Read from {plan.Registry}: {inventory.Repositories.Count} repositories, {inventory.Tags.Count} tags; planned as Get-UnusedImage plans with the same parameters. Usage: {string.Join("; ", planned.Usage.Sources)}."),
            };
            if (plan.BytesAreEstimates)
            {
                notes.Add("Some tags could not be read, so reclaimable bytes are estimates.");
            }
            else if (!plan.IncludesUntaggedManifests && plan.UnverifiedBytes > 0)
            {
                notes.Add($"Reclaimable bytes are an upper bound by up to {ByteCount.Format(plan.UnverifiedBytes)} if a tag was ever overwritten (untagged manifests keep their layers); -StoragePath makes them exact.");
            }

            return new RegistryReportData(plan.Registry, DateTimeOffset.UtcNow, imageList, candidateList, kept, ByteTotal.Sum(blobs.Values)) { Notes = notes };
        }
    }

    private Exception FileExists(string path) => this.Terminate(
        new IOException($"The file '{path}' exists and was left as it was. Add -Force to replace it, or name another -Path."),
        ErrorIds.ReportFileExists,
        ErrorCategory.ResourceExists,
        path);

    /// <summary>Writes next to the target under a temporary name and renames it into place, so the file is whole or absent.</summary>
    private void WriteAtomically(string path, string html)
    {
        string folder = System.IO.Path.GetDirectoryName(path) ?? ".";
        string temporary = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temporary, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temporary, path, overwrite: this.Force.IsPresent);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            if (!this.Force.IsPresent && File.Exists(path))
            {
                // Created by someone else while the registry was read: still not ours to replace.
                throw this.FileExists(path);
            }

            throw this.Terminate(
                new IOException($"The report could not be written to '{path}': {ex.Message}", ex),
                ErrorIds.ReportWriteFailed,
                ErrorCategory.WriteError,
                path);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the error that matters is the write's.
        }
    }
}
