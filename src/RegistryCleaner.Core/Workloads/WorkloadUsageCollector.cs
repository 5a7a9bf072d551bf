using k8s.Models;

namespace RegistryCleaner.Workloads;

/// <summary>
/// Accumulates image usage from pods and pod templates. Not thread-safe: each listing fills its own collector and
/// the scanner merges them once the listing is complete, so a restarted listing never leaves half a page behind.
/// </summary>
internal sealed class WorkloadUsageCollector
{
    internal const string WorkloadTypeLabel = "dominodatalab.com/workload-type";
    internal const string ProjectNameLabel = "dominodatalab.com/project-name";
    internal const string ProjectOwnerLabel = "dominodatalab.com/project-owner-username";

    private readonly Dictionary<string, ImageEntry> images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkloadUser> users = new(StringComparer.Ordinal);
    private readonly HashSet<string> runningDigests = new(StringComparer.Ordinal);
    private readonly List<string> notes = [];
    private readonly List<string> warnings = [];

    /// <summary>Objects (pods and controllers) added since the collector was created, for progress.</summary>
    public int ObjectCount { get; private set; }

    public void AddNote(string note) => notes.Add(note);

    public void AddPod(V1Pod pod)
    {
        ObjectCount++;
        string? phase = pod.Status?.Phase;
        if (phase is "Succeeded" or "Failed" || pod.Spec is null)
        {
            return; // finished pods never run again: their images are not in use
        }

        WorkloadUser user = CreateUser("Pod", pod.Metadata, pod.Metadata);
        V1PodSpec spec = pod.Spec;

        // Container names are unique within a pod across all three lists, so one map ties statuses to references.
        var imageByContainer = new Dictionary<string, string>(StringComparer.Ordinal);
        AddContainers(spec, user, imageByContainer);

        // A status of a container whose image names nothing still says what runs in the pod.
        string[] podImages = [.. imageByContainer.Values.Distinct(StringComparer.Ordinal)];

        if (pod.Status is { } status)
        {
            AddStatuses(status.ContainerStatuses, imageByContainer, podImages);
            AddStatuses(status.InitContainerStatuses, imageByContainer, podImages);
            AddStatuses(status.EphemeralContainerStatuses, imageByContainer, podImages);
        }
    }

    /// <summary>Adds the images of a controller's pod template.</summary>
    /// <param name="kind">The controller kind, e.g. <c>Deployment</c>.</param>
    /// <param name="owner">The controller's metadata (name, namespace, fallback labels).</param>
    /// <param name="template">The pod template; a missing template adds nothing.</param>
    public void AddTemplate(string kind, V1ObjectMeta? owner, V1PodTemplateSpec? template)
    {
        ObjectCount++;
        if (template?.Spec is not { } spec)
        {
            return;
        }

        AddContainers(spec, CreateUser(kind, owner, template.Metadata), null);
    }

    public void MergeFrom(WorkloadUsageCollector other)
    {
        foreach ((string image, ImageEntry entry) in other.images)
        {
            if (images.TryGetValue(image, out ImageEntry? mine))
            {
                mine.Digests.UnionWith(entry.Digests);
                mine.UserKeys.UnionWith(entry.UserKeys);
            }
            else
            {
                images.Add(image, entry);
            }
        }

        foreach ((string key, WorkloadUser user) in other.users)
        {
            users.TryAdd(key, user);
        }

        runningDigests.UnionWith(other.runningDigests);
        notes.AddRange(other.notes);
        warnings.AddRange(other.warnings);
        ObjectCount += other.ObjectCount;
    }

    public WorkloadScan ToScan(IReadOnlyList<string> sources, DateTimeOffset readAt, bool complete)
    {
        var frozen = images.Values
            // Repository, then tag, whatever registry host the reference names; references that name none last.
            .OrderBy(entry => entry.Reference is null ? 1 : 0)
            .ThenBy(entry => entry.Reference?.Repository, StringComparer.Ordinal)
            .ThenBy(entry => entry.Reference?.Tag, StringComparer.Ordinal)
            .ThenBy(entry => entry.Reference?.Digest, StringComparer.Ordinal)
            .ThenBy(entry => entry.Image, StringComparer.Ordinal)
            .Select(entry => new WorkloadScan.ScannedImage(
                entry.Image,
                entry.Reference,
                entry.Digests.Order(StringComparer.Ordinal).ToArray(),
                entry.UserKeys.Order(StringComparer.Ordinal).Select(key => users[key]).ToArray()))
            .ToArray();
        return new WorkloadScan(
            frozen,
            runningDigests.Order(StringComparer.Ordinal).ToArray(),
            sources,
            notes.Distinct(StringComparer.Ordinal).ToArray(),
            warnings.Distinct(StringComparer.Ordinal).ToArray(),
            readAt,
            complete);
    }

    private static WorkloadUser CreateUser(string kind, V1ObjectMeta? owner, V1ObjectMeta? labelsFirst)
    {
        string? Label(string key) =>
            labelsFirst?.Labels?.TryGetValue(key, out string? value) == true ? value
            : owner?.Labels?.TryGetValue(key, out value) == true ? value
            : null;

        return new WorkloadUser(
            kind,
            owner?.NamespaceProperty ?? "",
            owner?.Name ?? "",
            Label(WorkloadTypeLabel),
            Label(ProjectNameLabel),
            Label(ProjectOwnerLabel));
    }

    /// <summary>Adds the image of every container, init container and ephemeral container of a pod spec.</summary>
    private void AddContainers(V1PodSpec spec, WorkloadUser user, Dictionary<string, string>? imageByContainer)
    {
        foreach (V1Container container in spec.Containers ?? [])
        {
            AddImage(container.Image, user, imageByContainer, container.Name);
        }

        foreach (V1Container container in spec.InitContainers ?? [])
        {
            AddImage(container.Image, user, imageByContainer, container.Name);
        }

        foreach (V1EphemeralContainer container in spec.EphemeralContainers ?? [])
        {
            AddImage(container.Image, user, imageByContainer, container.Name);
        }
    }

    private void AddImage(string? image, WorkloadUser user, Dictionary<string, string>? imageByContainer, string? containerName)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            // OpenShift's 'oc new-app' leaves " " until a build fills it in: nothing to protect, nothing to block on.
            warnings.Add($"{user.Key}: container '{containerName}' has {(string.IsNullOrEmpty(image) ? "no image" : $"the blank image '{image}'")}, so it names no image to protect; it is skipped.");
            return;
        }

        users.TryAdd(user.Key, user);
        if (!images.TryGetValue(image, out ImageEntry? entry))
        {
            ImageReference? reference = null;
            try
            {
                reference = ImageReferenceParser.Parse(image);
            }
            catch (FormatException error)
            {
                notes.Add($"{error.Message} It is used by {user.Key} and cannot name a registry image, so it protects nothing.");
            }

            entry = new ImageEntry(image, reference);
            if (reference?.Digest is { } digest)
            {
                entry.Digests.Add(digest);
            }

            images.Add(image, entry);
        }

        entry.UserKeys.Add(user.Key);
        if (imageByContainer is not null && containerName is not null)
        {
            imageByContainer[containerName] = image;
        }
    }

    private void AddStatuses(IList<V1ContainerStatus>? statuses, Dictionary<string, string> imageByContainer, string[] podImages)
    {
        if (statuses is null)
        {
            return;
        }

        foreach (V1ContainerStatus status in statuses)
        {
            if (!ImageReferenceParser.TryParseImageId(status.ImageID, out RunningImage? running))
            {
                continue; // not pulled yet: the spec's reference already protects it
            }

            // The digest belongs to its container's image whatever repository the ID names (a mirror, another tag's
            // name, a bare ID), so the rows Get-WorkloadImage emits, and -InUse built from them, carry every digest.
            ImageEntry? owner = status.Name is not null && imageByContainer.TryGetValue(status.Name, out string? image) ? images[image] : null;
            if (owner is null && running.Repository is not null)
            {
                owner = podImages.Select(value => images[value]).FirstOrDefault(entry => entry.Reference?.Repository == running.Repository);
            }

            if (owner is not null)
            {
                owner.Digests.Add(running.Digest);
            }
            else
            {
                foreach (string podImage in podImages)
                {
                    images[podImage].Digests.Add(running.Digest);
                }
            }

            // Hosts differ for one registry (service name, FQDN, IP), so the repository path is what ties an ID to a
            // reference; an ID that is not tied protects its manifest in every repository on its own as well.
            if (running.Repository is null || owner?.Reference?.Repository != running.Repository)
            {
                runningDigests.Add(running.Digest);
            }
        }
    }

    private sealed class ImageEntry(string image, ImageReference? reference)
    {
        public string Image { get; } = image;

        public ImageReference? Reference { get; } = reference;

        public HashSet<string> Digests { get; } = new(StringComparer.Ordinal);

        public HashSet<string> UserKeys { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A pod or controller that uses images, with the Domino labels worth reporting.</summary>
internal sealed record WorkloadUser(string Kind, string Namespace, string Name, string? WorkloadType, string? ProjectName, string? ProjectOwner)
{
    public string Key { get; } = $"{Kind}/{Namespace}/{Name}";
}
