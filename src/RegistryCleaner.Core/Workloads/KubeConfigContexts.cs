using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RegistryCleaner.Workloads;

/// <summary>One context of a kubeconfig file.</summary>
/// <param name="Name">The context name.</param>
/// <param name="Namespace">The namespace the context sets, if any.</param>
public sealed record KubeConfigContext(string Name, string? Namespace);

/// <summary>The contexts of a kubeconfig file, read without connecting to any cluster.</summary>
/// <param name="Path">The full path of the file.</param>
/// <param name="CurrentContext">The <c>current-context</c>, if set.</param>
/// <param name="Contexts">The contexts, in file order.</param>
public sealed record KubeConfigContexts(string Path, string? CurrentContext, IReadOnlyList<KubeConfigContext> Contexts)
{
    /// <summary>
    /// Reads the context names, their namespaces and the current context of a kubeconfig. Cheap (YAML only, no
    /// credentials are read or resolved), for validation before a scan and for tab completion.
    /// </summary>
    /// <param name="path">The kubeconfig file.</param>
    /// <returns>The contexts.</returns>
    /// <exception cref="KubeConfigInvalidException">The file cannot be read or is not a kubeconfig; the message names it.</exception>
    public static KubeConfigContexts Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(full);
            stream.Load(reader);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigInvalidException($"The kubeconfig '{full}' cannot be read: {error.Message}", error);
        }
        catch (YamlException error)
        {
            throw new KubeConfigInvalidException(
                $"The kubeconfig '{full}' is not valid YAML at line {error.Start.Line}, column {error.Start.Column}: {error.Message}", error);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return new KubeConfigContexts(full, null, []);
        }

        string? current = Scalar(root, "current-context");
        var contexts = new List<KubeConfigContext>();
        if (Child(root, "contexts") is YamlSequenceNode sequence)
        {
            foreach (YamlNode item in sequence)
            {
                if (item is YamlMappingNode entry && Scalar(entry, "name") is { Length: > 0 } name)
                {
                    string? ns = Child(entry, "context") is YamlMappingNode details ? Scalar(details, "namespace") : null;
                    contexts.Add(new KubeConfigContext(name, string.IsNullOrEmpty(ns) ? null : ns));
                }
            }
        }

        return new KubeConfigContexts(full, string.IsNullOrEmpty(current) ? null : current, contexts);
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) ? value : null;

    private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}

/// <summary>What a live scan lists, for messages and progress in the cmdlet layer.</summary>
public static class WorkloadResources
{
    /// <summary>Gets the resources every scan lists, in order (e.g. <c>pods</c>, <c>deployments</c>).</summary>
    public static IReadOnlyList<string> Listed { get; } = WorkloadKind.All.Select(kind => kind.Resource).ToArray();
}
