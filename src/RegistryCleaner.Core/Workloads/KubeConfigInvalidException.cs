namespace RegistryCleaner.Workloads;

/// <summary>
/// The kubeconfig cannot be used: none was found outside a cluster, it cannot be read or parsed, it lacks a context
/// that was named, or KubernetesClient refuses a context. The message names the file and the context.
/// </summary>
public sealed class KubeConfigInvalidException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public KubeConfigInvalidException()
        : base("The kubeconfig cannot be used.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public KubeConfigInvalidException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The underlying error.</param>
    public KubeConfigInvalidException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
