using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace RegistryCleaner.Loader;

/// <summary>
/// Loads the module assembly and every third-party dependency (YamlDotNet, KubernetesClient, MongoDB.Driver, Polly)
/// into a private <see cref="AssemblyLoadContext"/>, so another module that already loaded a different version of
/// any of them cannot break RegistryCleaner, and RegistryCleaner cannot break it.
/// </summary>
/// <remarks>
/// Only assemblies found in the private folder are loaded here; everything else (System.Management.Automation,
/// the .NET runtime) falls through to the default context, which is what lets the cmdlets run inside PowerShell.
/// </remarks>
public sealed class LoadContext : AssemblyLoadContext
{
    private const string ModuleAssemblyName = "RegistryCleaner.PowerShell";

    private static readonly object Gate = new();
    private static LoadContext? instance;

    private readonly string assemblyDirectory;

    private LoadContext(string assemblyDirectory)
        : base(name: "RegistryCleaner", isCollectible: false)
    {
        this.assemblyDirectory = assemblyDirectory;
    }

    /// <summary>Gets the folder that holds the privately loaded assemblies.</summary>
    public string AssemblyDirectory => this.assemblyDirectory;

    /// <summary>
    /// Creates the private context on first use (later imports in the same process reuse it) and returns the module
    /// assembly loaded in it, ready for <c>Import-Module -Assembly</c>.
    /// </summary>
    /// <returns>The cmdlet assembly, loaded in the private context.</returns>
    public static Assembly Initialize()
    {
        lock (Gate)
        {
            if (instance is null)
            {
                string loaderDirectory = Path.GetDirectoryName(typeof(LoadContext).Assembly.Location)
                    ?? throw new InvalidOperationException("The RegistryCleaner loader assembly has no location on disk.");
                instance = new LoadContext(Path.Combine(loaderDirectory, "lib"));
            }

            return instance.LoadFromAssemblyName(new AssemblyName(ModuleAssemblyName));
        }
    }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string candidate = Path.Combine(this.assemblyDirectory, assemblyName.Name + ".dll");
        return File.Exists(candidate) ? this.LoadFromAssemblyPath(candidate) : null;
    }

    /// <inheritdoc />
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        // Native parts of dependencies (MongoDB.Driver's compression libraries) ship under runtimes/<rid>/native.
        foreach (string path in NativeCandidates(unmanagedDllName))
        {
            if (File.Exists(path))
            {
                return this.LoadUnmanagedDllFromPath(path);
            }
        }

        return IntPtr.Zero;
    }

    private IEnumerable<string> NativeCandidates(string name)
    {
        string rid = RuntimeInformation.RuntimeIdentifier;
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string[] fileNames = OperatingSystem.IsWindows()
            ? [name, name + ".dll"]
            : OperatingSystem.IsMacOS() ? [name, "lib" + name + ".dylib", name + ".dylib"] : [name, "lib" + name + ".so", name + ".so"];
        foreach (string folder in new[] { rid, $"{os}-{arch}", os }.Distinct(StringComparer.Ordinal))
        {
            foreach (string file in fileNames)
            {
                yield return Path.Combine(this.assemblyDirectory, "runtimes", folder, "native", file);
            }
        }
    }
}
