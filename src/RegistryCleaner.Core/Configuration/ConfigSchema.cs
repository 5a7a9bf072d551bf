namespace RegistryCleaner.Configuration;

/// <summary>The kind of value a configuration key holds.</summary>
public enum ConfigValueKind
{
    /// <summary>A text value.</summary>
    String,

    /// <summary>A whole number.</summary>
    Integer,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A list of text values (a YAML sequence, or a comma-separated environment variable).</summary>
    StringList,

    /// <summary>A secret text value: shown only as a mask.</summary>
    Secret,

    /// <summary><c>auto</c>, <c>true</c> or <c>false</c>, kept as that lower-case text.</summary>
    AutoOrBoolean,
}

/// <summary>Where a configuration value came from.</summary>
public enum ConfigSource
{
    /// <summary>The built-in default (or the module's bundled config.yaml, which holds the same values).</summary>
    Default,

    /// <summary>A config.yaml given by path, by <c>REGISTRY_CLEANER_CONFIG</c> or found in the current folder.</summary>
    File,

    /// <summary>An environment variable.</summary>
    Environment,
}

/// <summary>One known configuration key.</summary>
/// <param name="Name">The dotted key, e.g. <c>registry.url</c>.</param>
/// <param name="Kind">The kind of value.</param>
/// <param name="Default">The built-in default, or <see langword="null"/> for none.</param>
/// <param name="EnvironmentVariable">The environment variable that overrides the file, if any.</param>
/// <param name="Description">What the key does, for help and error messages.</param>
public sealed record ConfigKey(string Name, ConfigValueKind Kind, object? Default, string? EnvironmentVariable, string Description)
{
    /// <summary>Gets the smallest and largest whole number the key accepts (the range of its cmdlet parameter), if bounded.</summary>
    public (int Minimum, int Maximum)? Range { get; init; }
}

/// <summary>Every configuration key RegistryCleaner knows, with its type, default and environment variable.</summary>
public static class ConfigSchema
{
    /// <summary>The key holding the registry to clean.</summary>
    public const string RegistryUrl = "registry.url";

    /// <summary>The key holding the repository prefix (namespace) of Domino's images.</summary>
    public const string RegistryRepository = "registry.repository";

    /// <summary>The key holding the image names below the prefix.</summary>
    public const string RegistryImages = "registry.images";

    /// <summary>The key holding the registry user name.</summary>
    public const string RegistryUsername = "registry.username";

    /// <summary>The key holding the registry password.</summary>
    public const string RegistryPassword = "registry.password";

    /// <summary>The key naming a Kubernetes image pull secret (namespace/name) to take registry credentials from.</summary>
    public const string RegistryCredentialSecret = "registry.credential_secret";

    /// <summary>The key that turns off TLS certificate verification.</summary>
    public const string RegistrySkipCertificateCheck = "registry.skip_certificate_check";

    /// <summary>The key naming other host names of the same registry.</summary>
    public const string RegistryAliases = "registry.aliases";

    /// <summary>The key naming other hosts whose token service may receive the registry credentials.</summary>
    public const string RegistryTokenRealmHosts = "registry.token_realm_hosts";

    /// <summary>The key naming what software serves the registry: auto, distribution, harbor, ecr, acr or gar.</summary>
    public const string RegistryKind = "registry.kind";

    /// <summary>The key holding the Domino platform namespace.</summary>
    public const string PlatformNamespace = "kubernetes.platform_namespace";

    /// <summary>The key holding the Domino compute namespace.</summary>
    public const string ComputeNamespace = "kubernetes.compute_namespace";

    /// <summary>The key holding the pod name prefixes reported by default.</summary>
    public const string PodPrefixes = "kubernetes.pod_prefixes";

    /// <summary>The key holding the kubeconfig path.</summary>
    public const string KubeConfig = "kubernetes.kubeconfig";

    /// <summary>The key holding the kubeconfig contexts to read.</summary>
    public const string Contexts = "kubernetes.contexts";

    /// <summary>The key holding the namespaces to scan.</summary>
    public const string Namespaces = "kubernetes.namespaces";

    /// <summary>The key naming the StatefulSet that runs the registry (in kubernetes.platform_namespace).</summary>
    public const string RegistryStatefulSet = "kubernetes.registry_statefulset";

    /// <summary>The key naming the registry's container in that StatefulSet.</summary>
    public const string RegistryContainer = "kubernetes.registry_container";

    /// <summary>The key holding the registry's config.yml path inside its container.</summary>
    public const string RegistryConfigInContainer = "kubernetes.registry_config";

    /// <summary>The key holding the registry binary inside its container.</summary>
    public const string RegistryCommandInContainer = "kubernetes.registry_command";

    /// <summary>The key holding the concurrency limit.</summary>
    public const string MaxWorkers = "analysis.max_workers";

    /// <summary>The most workers analysis.max_workers and -ThrottleLimit accept.</summary>
    public const int MaxWorkersLimit = 256;

    /// <summary>The longest per-request timeout, in seconds, analysis.timeout and -TimeoutSec accept (a day).</summary>
    public const int TimeoutLimitSeconds = 86400;

    /// <summary>The key holding the per-request timeout in seconds.</summary>
    public const string Timeout = "analysis.timeout";

    /// <summary>The key holding the folder for journals and backups.</summary>
    public const string OutputDir = "analysis.output_dir";

    /// <summary>The key that turns the image configuration cache on or off.</summary>
    public const string Cache = "analysis.cache";

    /// <summary>The key holding the image configuration cache folder.</summary>
    public const string CacheDir = "analysis.cache_dir";

    /// <summary>The key that makes destructive cmdlets dry-run unless told otherwise.</summary>
    public const string DryRunByDefault = "security.dry_run_by_default";

    /// <summary>The key that makes destructive cmdlets ask before each change.</summary>
    public const string RequireConfirmation = "security.require_confirmation";

    /// <summary>The key holding a complete MongoDB connection string.</summary>
    public const string MongoUri = "mongo.uri";

    /// <summary>The key holding the MongoDB host.</summary>
    public const string MongoHost = "mongo.host";

    /// <summary>The key holding the MongoDB port.</summary>
    public const string MongoPort = "mongo.port";

    /// <summary>The key holding the MongoDB replica set name.</summary>
    public const string MongoReplicaSet = "mongo.replica_set";

    /// <summary>The key holding the Domino database name.</summary>
    public const string MongoDatabase = "mongo.database";

    /// <summary>The key holding the MongoDB authentication database.</summary>
    public const string MongoAuthSource = "mongo.auth_source";

    /// <summary>The key holding the MongoDB user name.</summary>
    public const string MongoUsername = "mongo.username";

    /// <summary>The key holding the MongoDB password.</summary>
    public const string MongoPassword = "mongo.password";

    /// <summary>The key that decides when Domino's MongoDB records protect images: <c>auto</c>, <c>true</c> or <c>false</c>.</summary>
    public const string MongoUsage = "mongo.usage";

    /// <summary>The key that turns on TLS to MongoDB.</summary>
    public const string MongoTls = "mongo.tls";

    private const string ReportsNote = "Accepted for compatibility with the Python tool's config.yaml; the cmdlets emit objects instead of writing report files (use Export-Csv or ConvertTo-Json).";

    private static readonly ConfigKey[] AllKeys =
    [
        new(RegistryUrl, ConfigValueKind.String, "docker-registry:5000", "REGISTRY_URL", "Registry to clean: host[:port] (HTTPS) or an http:// or https:// URL."),
        new(RegistryRepository, ConfigValueKind.String, "dominodatalab", "REPOSITORY", "Repository prefix of Domino's images; combined with registry.images to give the default repositories."),
        new(RegistryImages, ConfigValueKind.StringList, new[] { "environment", "model" }, null, "Image names below registry.repository that the cmdlets work on by default."),
        new(RegistryUsername, ConfigValueKind.String, "domino-registry", "REGISTRY_USERNAME", "Registry user name, used when a password is set."),
        new(RegistryPassword, ConfigValueKind.Secret, null, "REGISTRY_PASSWORD", "Registry password. Prefer the REGISTRY_PASSWORD environment variable or -Credential over the file."),
        new(RegistryCredentialSecret, ConfigValueKind.String, null, null, "Kubernetes image pull secret (<namespace>/<name>, Domino: domino-platform/domino-registry) whose .dockerconfigjson holds the registry credentials, read with the kubeconfig parameters when no -Credential, environment or config password is set (-CredentialSecret). Unset: not read. A configured secret that cannot be read is skipped with a verbose note."),
        new(RegistrySkipCertificateCheck, ConfigValueKind.Boolean, false, null, "Skip TLS certificate verification (as -SkipCertificateCheck). Only for registries with self-signed certificates."),
        new(RegistryAliases, ConfigValueKind.StringList, Array.Empty<string>(), null, "Other host names of the same registry (service FQDN, IP, node port), used with -StrictHost."),
        new(RegistryTokenRealmHosts, ConfigValueKind.StringList, Array.Empty<string>(), null, "Hosts, besides the registry's own site (same host, or same domain such as auth.docker.io for registry-1.docker.io), whose token service (the realm of a Bearer challenge) may receive the registry credentials. Any port of a listed host is allowed; an HTTPS registry's token service must still be https."),
        new(RegistryKind, ConfigValueKind.String, "auto", null, "What serves the registry: auto (told from its answers: its authentication challenge, error codes and Harbor's API; its host name only as a last hint), distribution, harbor, ecr, acr or gar. Decides what Remove-UnusedImage says to do next (garbage collection for distribution and Harbor, nothing for ECR, ACR and GAR) and names the fix when a cloud registry refuses a delete."),
        new(PlatformNamespace, ConfigValueKind.String, "domino-platform", "PLATFORM_NAMESPACE", "Namespace of Domino's platform services (registry, MongoDB)."),
        new(ComputeNamespace, ConfigValueKind.String, "domino-compute", "COMPUTE_NAMESPACE", "Namespace of Domino's runs and model pods."),
        new(PodPrefixes, ConfigValueKind.StringList, new[] { "model-", "run-" }, null, "Pod name prefixes Get-WorkloadImage -PodPrefix reports by default when asked; never narrows what is protected."),
        new(KubeConfig, ConfigValueKind.String, null, "KUBECONFIG", "kubeconfig file; else ~/.kube/config, else the in-cluster service account."),
        new(Contexts, ConfigValueKind.StringList, Array.Empty<string>(), null, "kubeconfig contexts to read and merge; empty means the current context."),
        new(Namespaces, ConfigValueKind.StringList, Array.Empty<string>(), null, "Namespaces to scan for workloads; empty means all namespaces (the safe default)."),
        new(RegistryStatefulSet, ConfigValueKind.String, "docker-registry", null, "StatefulSet that runs the registry, in kubernetes.platform_namespace: Invoke-RegistryGarbageCollection and Enable-/Disable-RegistryDeletion change and restart it (-StatefulSet)."),
        new(RegistryContainer, ConfigValueKind.String, null, null, "The registry's container in that StatefulSet; unset: the one named like the StatefulSet, registry or docker-registry, or the only one."),
        new(RegistryConfigInContainer, ConfigValueKind.String, "/etc/docker/registry/config.yml", null, "The registry's config.yml inside its container, which garbage-collect reads."),
        new(RegistryCommandInContainer, ConfigValueKind.String, "registry", null, "The registry binary inside its container (registry in the distribution image)."),
        new(MaxWorkers, ConfigValueKind.Integer, 16, null, "Concurrent requests per registry, and images deleted at once (-ThrottleLimit, 1 to 256).") { Range = (1, MaxWorkersLimit) },
        new(Timeout, ConfigValueKind.Integer, 60, null, "Per-request timeout in seconds for the registry, Kubernetes and MongoDB (-TimeoutSec, 1 to 86400).") { Range = (1, TimeoutLimitSeconds) },
        new(OutputDir, ConfigValueKind.String, "reports", null, "Folder for deletion journals and MongoDB backups, relative to the current folder."),
        new(Cache, ConfigValueKind.Boolean, true, "REGISTRY_CLEANER_CACHE", "Keep each image configuration's creation time and platform on disk by digest, so later reads need one request per tag instead of two. Content-addressed: entries never go stale."),
        new(CacheDir, ConfigValueKind.String, null, "REGISTRY_CLEANER_CACHE_DIR", "Folder of the image configuration cache; empty means $XDG_CACHE_HOME/RegistryCleaner or ~/.cache/RegistryCleaner (%LOCALAPPDATA%\\RegistryCleaner\\Cache on Windows)."),
        new("reports.workload_report", ConfigValueKind.String, "workload-report.json", null, ReportsNote),
        new("reports.image_analysis", ConfigValueKind.String, "final-report.json", null, ReportsNote),
        new("reports.deletion_analysis", ConfigValueKind.String, "deletion-analysis.json", null, ReportsNote),
        new("reports.tags_per_layer", ConfigValueKind.String, "tags-per-layer.json", null, ReportsNote),
        new("reports.layers_and_sizes", ConfigValueKind.String, "layers-and-sizes.json", null, ReportsNote),
        new("reports.filtered_layers", ConfigValueKind.String, "filtered-layers.json", null, ReportsNote),
        new("reports.tag_sums", ConfigValueKind.String, "tag-sums.json", null, ReportsNote),
        new("reports.images_report", ConfigValueKind.String, "images-report", null, ReportsNote),
        new("reports.archived_tags", ConfigValueKind.String, "archived-tags.json", null, ReportsNote),
        new(DryRunByDefault, ConfigValueKind.Boolean, false, null, "When true, destructive cmdlets run as -WhatIf unless called with -WhatIf:$false (-Confirm:$false and -Force do not lift it)."),
        new(RequireConfirmation, ConfigValueKind.Boolean, true, null, "When false, destructive cmdlets called without -Confirm run as -Confirm:$false (for scheduled runs)."),
        new(MongoUri, ConfigValueKind.Secret, null, "MONGODB_URI", "Complete MongoDB connection string; when set, mongo.host, port, replica_set and auth_source are not used. Masked because it may hold a password."),
        new(MongoHost, ConfigValueKind.String, "mongodb-replicaset", null, "MongoDB host."),
        new(MongoPort, ConfigValueKind.Integer, 27017, null, "MongoDB port."),
        new(MongoReplicaSet, ConfigValueKind.String, "rs0", null, "MongoDB replica set name; empty for a direct connection."),
        new(MongoDatabase, ConfigValueKind.String, "domino", null, "Domino's database."),
        new(MongoAuthSource, ConfigValueKind.String, "admin", null, "MongoDB authentication database."),
        new(MongoUsername, ConfigValueKind.String, "admin", "MONGODB_USERNAME", "MongoDB user name."),
        new(MongoPassword, ConfigValueKind.Secret, null, "MONGODB_PASSWORD", "MongoDB password (in Domino: secret mongodb-replicaset-admin)."),
        new(MongoUsage, ConfigValueKind.AutoOrBoolean, "auto", null, "When Get-UnusedImage and Remove-UnusedImage protect the images Domino's MongoDB records pin (runs, workspaces, project, organization and user defaults, scheduled jobs, apps, model versions): auto (when a Domino repository, <registry.repository>/environment or /model, is in scope; fails closed when MongoDB cannot be read), true (always) or false (never; says so). Parameter: -MongoUsage."),
        new(MongoTls, ConfigValueKind.Boolean, false, null, "Use TLS to MongoDB."),
    ];

    private static readonly Dictionary<string, ConfigKey> ByName = AllKeys.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Gets every known key, in documentation order.</summary>
    public static IReadOnlyList<ConfigKey> Keys => AllKeys;

    /// <summary>Finds a key by its dotted name.</summary>
    /// <param name="name">The dotted name, e.g. <c>analysis.timeout</c>.</param>
    /// <returns>The key, or <see langword="null"/> when unknown.</returns>
    public static ConfigKey? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Returns the known key closest in spelling to an unknown one, for "did you mean" messages.</summary>
    /// <param name="name">The unknown dotted name.</param>
    /// <returns>The closest known key name.</returns>
    public static string Closest(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string best = AllKeys[0].Name;
        int bestDistance = int.MaxValue;
        foreach (ConfigKey key in AllKeys)
        {
            int distance = EditDistance(name, key.Name);
            if (distance < bestDistance)
            {
                best = key.Name;
                bestDistance = distance;
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
