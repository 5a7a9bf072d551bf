namespace RegistryCleaner.Registry;

/// <summary>
/// A registry answer went over one of the client's bounds (manifest size, listing pages, items or time, a blob longer
/// than its descriptor): an error for the tag or repository being read, never a partial result. The message names the
/// limit and the <see cref="RegistryClientOptions"/> property that sets it.
/// </summary>
public sealed class RegistryLimitException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryLimitException()
    {
        this.Limit = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryLimitException(string message)
        : base(message)
    {
        this.Limit = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryLimitException(string message, Exception? innerException)
        : base(message, innerException)
    {
        this.Limit = string.Empty;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="limit">The limit: its <see cref="RegistryClientOptions"/> property name (e.g. <c>MaxManifestBytes</c>), or "its descriptor's size".</param>
    /// <param name="message">The message, naming the limit and its value.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryLimitException(string registry, string limit, string message, Exception? innerException = null)
        : base(registry, message, null, innerException)
    {
        this.Limit = limit;
    }

    /// <summary>Gets the limit that was hit: its <see cref="RegistryClientOptions"/> property name, or "its descriptor's size" for a blob longer than its descriptor says.</summary>
    public string Limit { get; }
}

/// <summary>
/// A blob's content does not match its descriptor: it does not hash to its digest, or its length differs from its
/// size. The content is not used (nor cached).
/// </summary>
public sealed class BlobContentException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public BlobContentException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public BlobContentException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BlobContentException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BlobContentException(string registry, string message, Exception? innerException = null)
        : base(registry, message, null, innerException)
    {
    }
}
