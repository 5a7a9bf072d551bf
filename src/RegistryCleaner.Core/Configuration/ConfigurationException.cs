namespace RegistryCleaner.Configuration;

/// <summary>A configuration problem: a missing or invalid file, or a value of the wrong type.</summary>
public class ConfigurationException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="ConfigurationException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="filePath">The file concerned, if any.</param>
    /// <param name="line">The 1-based line, if known.</param>
    /// <param name="column">The 1-based column, if known.</param>
    /// <param name="inner">The underlying error.</param>
    public ConfigurationException(string message, string? filePath, int? line = null, int? column = null, Exception? inner = null)
        : base(message, inner)
    {
        this.FilePath = filePath;
        this.Line = line;
        this.Column = column;
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigurationException"/> class.</summary>
    public ConfigurationException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigurationException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigurationException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying error.</param>
    public ConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Gets the file concerned, if any.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the 1-based line, if known.</summary>
    public int? Line { get; }

    /// <summary>Gets the 1-based column, if known.</summary>
    public int? Column { get; }
}

/// <summary>
/// A configuration file found implicitly (<c>REGISTRY_CLEANER_CONFIG</c>, <c>./config.yaml</c>) that someone else may
/// have written: on Unix, not owned by the current user or root, or writable by group or others. It was not read.
/// </summary>
public sealed class ConfigFileUnsafeException : ConfigurationException
{
    /// <summary>Initializes a new instance of the <see cref="ConfigFileUnsafeException"/> class.</summary>
    public ConfigFileUnsafeException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigFileUnsafeException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ConfigFileUnsafeException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigFileUnsafeException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying error.</param>
    public ConfigFileUnsafeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigFileUnsafeException"/> class.</summary>
    /// <param name="message">Why the file is not read and how to fix it.</param>
    /// <param name="filePath">The file.</param>
    public ConfigFileUnsafeException(string message, string filePath)
        : base(message, filePath)
    {
    }

    internal static ConfigFileUnsafeException For(string path, string foundHow, string problem, bool foreignOwner, uint? self)
    {
        string owner = self is { } uid ? uid.ToString(System.Globalization.CultureInfo.InvariantCulture) : "$(id -u)";
        string quoted = "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        string elsewhere = foundHow.Contains(ConfigLookup.PathVariable, StringComparison.Ordinal)
            ? $"unset {ConfigLookup.PathVariable}"
            : "run the command from another folder";
        return new ConfigFileUnsafeException(
            $"Config file '{path}' ({foundHow}) was not read: {problem}, so someone else may have written it, and a config file decides where the registry and MongoDB passwords go and which kubeconfig runs. "
            + $"If it is yours, fix it: chmod go-w {quoted}{(foreignOwner ? $" and, as root, chown {owner} {quoted}" : string.Empty)}. To use it as it is, pass -ConfigPath {quoted} explicitly; to ignore it, {elsewhere}.",
            path);
    }
}
