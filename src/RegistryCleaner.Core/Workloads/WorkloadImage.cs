namespace RegistryCleaner.Workloads;

/// <summary>
/// One distinct image reference, exactly as workloads write it, with everything that uses it: the row
/// <c>Get-WorkloadImage</c> emits.
/// </summary>
/// <remarks>
/// The label properties (<see cref="WorkloadType"/>, <see cref="ProjectName"/>, <see cref="ProjectOwner"/>) are lists of
/// the distinct values found on the users, sorted, because one image is often shared by several projects; usually they
/// hold one value. Every list is sorted ordinally so output is stable between runs.
/// </remarks>
/// <param name="Image">The reference as written in the pod or template, e.g. <c>docker-registry:5000/dominodatalab/environment:659c…-12</c>.</param>
/// <param name="Registry">The normalised registry host; <see langword="null"/> when <see cref="Image"/> is not a valid reference.</param>
/// <param name="Repository">The normalised repository path; <see langword="null"/> when the reference is invalid.</param>
/// <param name="Tag">The tag (<c>latest</c> when none is written); <see langword="null"/> for digest-only or invalid references.</param>
/// <param name="Digests">Digests from the reference itself and from container statuses' <c>imageID</c>.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when the tag starts with one.</param>
/// <param name="Pods">Pods running or about to run the image, as <c>namespace/name</c>.</param>
/// <param name="PodCount">The number of entries in <see cref="Pods"/>.</param>
/// <param name="Workloads">Controllers whose pod template names the image, as <c>Kind/namespace/name</c>.</param>
/// <param name="Namespaces">Namespaces of the pods and controllers.</param>
/// <param name="WorkloadType">Distinct values of the <c>dominodatalab.com/workload-type</c> label.</param>
/// <param name="ProjectName">Distinct values of the <c>dominodatalab.com/project-name</c> label.</param>
/// <param name="ProjectOwner">Distinct values of the <c>dominodatalab.com/project-owner-username</c> label.</param>
public sealed record WorkloadImage(
    string Image,
    string? Registry,
    string? Repository,
    string? Tag,
    IReadOnlyList<string> Digests,
    string? ObjectId,
    IReadOnlyList<string> Pods,
    int PodCount,
    IReadOnlyList<string> Workloads,
    IReadOnlyList<string> Namespaces,
    IReadOnlyList<string> WorkloadType,
    IReadOnlyList<string> ProjectName,
    IReadOnlyList<string> ProjectOwner);
