namespace RegistryCleaner.Workloads;

/// <summary>Finds the kubeconfig file the way kubectl does.</summary>
public static class KubeConfigLocator
{
    /// <summary>
    /// Resolves the kubeconfig from the explicit path, else the first existing file in <c>KUBECONFIG</c>, else
    /// <c>~/.kube/config</c>.
    /// </summary>
    /// <param name="explicitPath">A path the user gave (<c>-KubeConfig</c>), or <see langword="null"/>.</param>
    /// <returns>The full path of the file, or <see langword="null"/> when none exists (use the in-cluster configuration).</returns>
    /// <exception cref="FileNotFoundException">The explicit path does not exist.</exception>
    public static string? Resolve(string? explicitPath) => Resolve(
        explicitPath,
        Environment.GetEnvironmentVariable("KUBECONFIG"),
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>Resolves the kubeconfig from given inputs instead of the process environment.</summary>
    /// <param name="explicitPath">A path the user gave, or <see langword="null"/>.</param>
    /// <param name="kubeconfigVariable">The value of <c>KUBECONFIG</c>: one path or several separated by <see cref="Path.PathSeparator"/>.</param>
    /// <param name="homeDirectory">The user's home directory.</param>
    /// <returns>The full path of the file, or <see langword="null"/> when none exists.</returns>
    /// <exception cref="FileNotFoundException">The explicit path does not exist.</exception>
    public static string? Resolve(string? explicitPath, string? kubeconfigVariable, string? homeDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            string full = Path.GetFullPath(explicitPath);
            return File.Exists(full)
                ? full
                : throw new FileNotFoundException($"The kubeconfig file '{full}' does not exist. Pass an existing file to -KubeConfig, or omit it to use KUBECONFIG or ~/.kube/config.", full);
        }

        if (!string.IsNullOrWhiteSpace(kubeconfigVariable))
        {
            // kubectl merges every file of the list; contexts of the first existing file are what scans need in practice.
            foreach (string candidate in kubeconfigVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (File.Exists(candidate))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        if (!string.IsNullOrEmpty(homeDirectory))
        {
            string home = Path.Combine(homeDirectory, ".kube", "config");
            if (File.Exists(home))
            {
                return home;
            }
        }

        return null;
    }
}
