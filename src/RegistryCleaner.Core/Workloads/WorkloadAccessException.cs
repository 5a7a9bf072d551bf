namespace RegistryCleaner.Workloads;

/// <summary>
/// A kind could not be listed completely in a namespace (or cluster-wide) of a context, so image usage is unknown and
/// nothing may be deleted. The message names the context, kind, namespace and the permission to grant.
/// </summary>
public sealed class WorkloadAccessException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and what to do.</param>
    /// <param name="context">The kubeconfig context (or <c>in-cluster</c>).</param>
    /// <param name="resource">The resource that could not be listed, e.g. <c>pods</c> or <c>deployments</c>.</param>
    /// <param name="namespace">The namespace, or <see langword="null"/> for a cluster-wide list.</param>
    /// <param name="statusCode">The HTTP status code, when the API server answered.</param>
    /// <param name="requiredPermission">The RBAC permission the read needs, e.g. <c>list pods in all namespaces</c>.</param>
    /// <param name="innerException">The underlying error.</param>
    public WorkloadAccessException(
        string message,
        string context,
        string resource,
        string? @namespace,
        int? statusCode,
        string requiredPermission,
        Exception? innerException)
        : base(message, innerException)
    {
        Context = context;
        Resource = resource;
        Namespace = @namespace;
        StatusCode = statusCode;
        RequiredPermission = requiredPermission;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public WorkloadAccessException()
        : this("Kubernetes workloads could not be read completely.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What failed.</param>
    public WorkloadAccessException(string message)
        : this(message, "", "", null, null, "", null)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying error.</param>
    public WorkloadAccessException(string message, Exception innerException)
        : this(message, "", "", null, null, "", innerException)
    {
    }

    /// <summary>The kubeconfig context (or <c>in-cluster</c>).</summary>
    public string Context { get; }

    /// <summary>The resource that could not be listed, e.g. <c>pods</c>.</summary>
    public string Resource { get; }

    /// <summary>The namespace, or <see langword="null"/> for a cluster-wide list.</summary>
    public string? Namespace { get; }

    /// <summary>The HTTP status code, when the API server answered; <see langword="null"/> for timeouts and connection failures.</summary>
    public int? StatusCode { get; }

    /// <summary>The RBAC permission the read needs, e.g. <c>list pods in all namespaces</c>.</summary>
    public string RequiredPermission { get; }
}
