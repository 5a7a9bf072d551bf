namespace RegistryCleaner.Domino;

/// <summary>What kind of problem stopped a MongoDB call, so callers can pick an error id and category.</summary>
public enum DominoDatabaseError
{
    /// <summary>The connection settings are invalid (bad URI, port, timeout).</summary>
    InvalidSettings,

    /// <summary>No server could be reached within the timeout (refused, unresolvable, wrong replica set, timeout).</summary>
    Unreachable,

    /// <summary>The server rejected the user name or password.</summary>
    AuthenticationFailed,

    /// <summary>The server refused the operation or the user lacks a permission.</summary>
    CommandFailed,

    /// <summary>A stored record does not have the shape Domino documents have.</summary>
    UnexpectedData,
}

/// <summary>
/// A MongoDB problem described for an administrator, never containing the password. The original driver exception is
/// kept as <see cref="Exception.InnerException"/> only when it does not contain the password either.
/// </summary>
public sealed class DominoDatabaseException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="error">The kind of problem.</param>
    /// <param name="innerException">The cause, already checked not to reveal secrets.</param>
    public DominoDatabaseException(string message, DominoDatabaseError error, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>Creates the exception with <see cref="DominoDatabaseError.CommandFailed"/>.</summary>
    public DominoDatabaseException()
        : this("A MongoDB operation failed.", DominoDatabaseError.CommandFailed)
    {
    }

    /// <summary>Creates the exception with <see cref="DominoDatabaseError.CommandFailed"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public DominoDatabaseException(string message)
        : this(message, DominoDatabaseError.CommandFailed)
    {
    }

    /// <summary>Creates the exception with <see cref="DominoDatabaseError.CommandFailed"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DominoDatabaseException(string message, Exception innerException)
        : this(message, DominoDatabaseError.CommandFailed, innerException)
    {
    }

    /// <summary>The kind of problem.</summary>
    public DominoDatabaseError Error { get; }
}
