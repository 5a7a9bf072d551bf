namespace RegistryCleaner.PowerShell;

/// <summary>The PSTypeNames of every object the cmdlets emit (the module's contract; format views use the same names).</summary>
public static class OutputTypeNames
{
    /// <summary>An image a workload uses.</summary>
    public const string WorkloadImage = "RegistryCleaner.WorkloadImage";

    /// <summary>A tag in the registry.</summary>
    public const string RegistryImage = "RegistryCleaner.RegistryImage";

    /// <summary>A blob in the registry.</summary>
    public const string RegistryLayer = "RegistryCleaner.RegistryLayer";

    /// <summary>A tag's bytes split into unique and shared (Get-RegistryLayer -UniqueBytes).</summary>
    public const string TagBytes = "RegistryCleaner.TagBytes";

    /// <summary>A deletion candidate.</summary>
    public const string UnusedImage = "RegistryCleaner.UnusedImage";

    /// <summary>The outcome of one image deletion.</summary>
    public const string ImageDeletion = "RegistryCleaner.ImageDeletion";

    /// <summary>A registry tag of an archived environment.</summary>
    public const string ArchivedEnvTag = "RegistryCleaner.ArchivedEnvTag";

    /// <summary>The outcome of one environment revision deletion.</summary>
    public const string MongoEnvRevisionDeletion = "RegistryCleaner.MongoEnvRevisionDeletion";

    /// <summary>The outcome of one image restore.</summary>
    public const string ImageRestore = "RegistryCleaner.ImageRestore";

    /// <summary>An image reference in Domino's records.</summary>
    public const string DominoImageUsage = "RegistryCleaner.DominoImageUsage";

    /// <summary>A difference between Domino's records and the registry.</summary>
    public const string DominoRegistryDifference = "RegistryCleaner.DominoRegistryDifference";

    /// <summary>One configuration key.</summary>
    public const string ConfigEntry = "RegistryCleaner.ConfigEntry";

    /// <summary>One problem an integrity check found (a missing or wrong-sized manifest or blob).</summary>
    public const string RegistryImageProblem = "RegistryCleaner.RegistryImageProblem";

    /// <summary>The summary of an integrity check.</summary>
    public const string RegistryIntegrity = "RegistryCleaner.RegistryIntegrity";

    /// <summary>The outcome of a garbage collection run (or its dry run).</summary>
    public const string GarbageCollection = "RegistryCleaner.GarbageCollection";

    /// <summary>The delete setting of a registry workload after Enable-/Disable-RegistryDeletion.</summary>
    public const string RegistryDeletionSetting = "RegistryCleaner.RegistryDeletionSetting";

    /// <summary>The HTML report Export-RegistryReport wrote, with its totals.</summary>
    public const string RegistryReport = "RegistryCleaner.RegistryReport";
}
