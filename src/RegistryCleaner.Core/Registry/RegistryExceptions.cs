using System.Net;

namespace RegistryCleaner.Registry;

/// <summary>A registry call failed. The message names the registry and never contains a secret.</summary>
public class RegistryException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryException()
    {
        this.Registry = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryException(string message)
        : base(message)
    {
        this.Registry = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryException(string message, Exception? innerException)
        : base(message, innerException)
    {
        this.Registry = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">The message.</param>
    /// <param name="statusCode">The HTTP status, when the registry answered.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryException(string registry, string message, HttpStatusCode? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        this.Registry = registry;
        this.StatusCode = statusCode;
    }

    /// <summary>Gets the registry display name (host[:port]).</summary>
    public string Registry { get; }

    /// <summary>Gets the HTTP status the registry answered with, when it answered.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Gets the error entries of the registry's answer (its codes, messages and details); empty when it sent none.</summary>
    public IReadOnlyList<RegistryError> Errors { get; init; } = [];
}

/// <summary>The registry refused the credentials (401) or denied access (403).</summary>
public sealed class RegistryAuthenticationException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryAuthenticationException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryAuthenticationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">The message.</param>
    /// <param name="statusCode">401 or 403.</param>
    public RegistryAuthenticationException(string registry, string message, HttpStatusCode statusCode)
        : base(registry, message, statusCode)
    {
    }
}

/// <summary>The registry could not be reached or did not answer within the timeout.</summary>
public sealed class RegistryUnreachableException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryUnreachableException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryUnreachableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryUnreachableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryUnreachableException(string registry, string message, Exception? innerException)
        : base(registry, message, null, innerException)
    {
    }
}

/// <summary>The registry's TLS certificate was not trusted.</summary>
public sealed class RegistryCertificateException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryCertificateException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryCertificateException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryCertificateException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryCertificateException(string registry, string message, Exception? innerException)
        : base(registry, message, null, innerException)
    {
    }
}

/// <summary>The repository does not exist in the registry (404 <c>NAME_UNKNOWN</c>).</summary>
public sealed class RepositoryNotFoundException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RepositoryNotFoundException()
    {
        this.Repository = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RepositoryNotFoundException(string message)
        : base(message)
    {
        this.Repository = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RepositoryNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
        this.Repository = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="repository">The repository.</param>
    public RepositoryNotFoundException(string registry, string repository)
        : base(registry, $"Repository '{repository}' does not exist in registry {registry}.", HttpStatusCode.NotFound)
    {
        this.Repository = repository;
    }

    /// <summary>Gets the repository.</summary>
    public string Repository { get; }
}

/// <summary>A manifest could not be parsed (malformed JSON, unknown media type, schema 1, digest mismatch).</summary>
public sealed class ManifestFormatException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public ManifestFormatException()
    {
        this.Repository = string.Empty;
        this.Reference = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public ManifestFormatException(string message)
        : base(message)
    {
        this.Repository = string.Empty;
        this.Reference = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ManifestFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
        this.Repository = string.Empty;
        this.Reference = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="repository">The repository.</param>
    /// <param name="reference">The tag or digest.</param>
    /// <param name="reason">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ManifestFormatException(string registry, string repository, string reference, string reason, Exception? innerException = null)
        : base(registry, $"The manifest {registry}/{repository}{Separator(reference)}{reference} is malformed: {reason}", null, innerException)
    {
        this.Repository = repository;
        this.Reference = reference;
    }

    /// <summary>Gets the repository.</summary>
    public string Repository { get; }

    /// <summary>Gets the tag or digest.</summary>
    public string Reference { get; }

    private static string Separator(string reference) => reference.Contains(':', StringComparison.Ordinal) ? "@" : ":";
}
