using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <summary>
/// The index tree refuses to be walked: a tag's indexes contain themselves or nest deeper than
/// <see cref="ManifestGraphException.MaxIndexDepth"/>, so what such a tag keeps cannot be known.
/// </summary>
public sealed class InventoryGraphException : PlanRefusedException
{
    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    public InventoryGraphException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public InventoryGraphException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InventoryGraphException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
