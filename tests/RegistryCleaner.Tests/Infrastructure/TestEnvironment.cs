using System.Runtime.CompilerServices;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>Process-wide settings every test starts with.</summary>
internal static class TestEnvironment
{
    /// <summary>
    /// Gets the image configuration cache folder of this test run: the cmdlets keep their cache here (on, as users
    /// have it), never in the user's own cache folder, and every run starts with an empty cache.
    /// </summary>
    public static string CacheDirectory { get; } = Directory.CreateTempSubdirectory("registrycleaner-tests-cache-").FullName;

#pragma warning disable CA2255 // A test assembly sets its process environment once, before any test.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => Environment.SetEnvironmentVariable("REGISTRY_CLEANER_CACHE_DIR", CacheDirectory);
}
