namespace RegistryCleaner.Workloads;

/// <summary>
/// A namespace the scan was narrowed to does not exist in a context (a typo, or the wrong cluster): its listings would
/// be empty and protect nothing, so the scan stops instead. The message names the namespace and the context.
/// </summary>
public sealed class WorkloadNamespaceNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is missing and what to do.</param>
    /// <param name="context">The kubeconfig context (or <c>in-cluster</c>).</param>
    /// <param name="namespace">The namespace that does not exist.</param>
    public WorkloadNamespaceNotFoundException(string message, string context, string @namespace)
        : base(message)
    {
        Context = context;
        Namespace = @namespace;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public WorkloadNamespaceNotFoundException()
        : this("A namespace the scan was narrowed to does not exist.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What is missing.</param>
    public WorkloadNamespaceNotFoundException(string message)
        : this(message, "", "")
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What is missing.</param>
    /// <param name="innerException">The underlying error.</param>
    public WorkloadNamespaceNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        Context = "";
        Namespace = "";
    }

    /// <summary>The kubeconfig context (or <c>in-cluster</c>).</summary>
    public string Context { get; }

    /// <summary>The namespace that does not exist.</summary>
    public string Namespace { get; }
}
