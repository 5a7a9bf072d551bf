namespace RegistryCleaner.Planning;

/// <summary>The planner refuses to plan deletions from the snapshots it was given.</summary>
public class PlanRefusedException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="PlanRefusedException"/> class.</summary>
    public PlanRefusedException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PlanRefusedException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public PlanRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PlanRefusedException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public PlanRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The usage snapshot is incomplete: an image might be in use without the planner knowing, so nothing may be deleted.</summary>
public sealed class UsageIncompleteException : PlanRefusedException
{
    /// <summary>Initializes a new instance of the <see cref="UsageIncompleteException"/> class.</summary>
    public UsageIncompleteException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageIncompleteException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public UsageIncompleteException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="UsageIncompleteException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public UsageIncompleteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The registry inventory is incomplete: blobs are shared across repositories, so the bytes a deletion frees cannot be
/// known.
/// </summary>
public sealed class InventoryIncompleteException : PlanRefusedException
{
    /// <summary>Initializes a new instance of the <see cref="InventoryIncompleteException"/> class.</summary>
    public InventoryIncompleteException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryIncompleteException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public InventoryIncompleteException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryIncompleteException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InventoryIncompleteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
