using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>
/// The <see cref="DeletionScenario"/> registry as an admin meets it: its workloads as a kubectl snapshot
/// (<c>./cluster.json</c> in the working folder), a fresh pwsh with the built module for each command, and the tags
/// left in the registry afterwards.
/// </summary>
public sealed class UserScenario : IDisposable
{
    private UserScenario(DeletionScenario scenario)
    {
        this.Scenario = scenario;
        this.Shell = new UserShell(scenario.Folder);
        KubernetesSampleCluster.WriteKubectlList(Path.Combine(scenario.Folder, "cluster.json"), scenario.Workloads);
    }

    public DeletionScenario Scenario { get; }

    public UserShell Shell { get; }

    /// <summary>Gets the registry as -Registry takes it.</summary>
    public string Registry => this.Scenario.Registry.Registry;

    /// <summary>
    /// Gets -MongoUsage:$false: these repositories are Domino's, whose records are read by default (mongo.usage: auto),
    /// and these scenarios have no MongoDB; an admin without one says so the same way.
    /// </summary>
    public static string KubernetesOnly => "-MongoUsage:$false";

    /// <summary>Gets the usage an admin passes from the snapshot (Kubernetes only).</summary>
    public static string InUse => $"-InUse (Get-WorkloadImage -Path ./cluster.json) {KubernetesOnly}";

    /// <summary>Gets every repository:tag the seed pushed, including the one outside the cleaned repositories.</summary>
    public IEnumerable<string> EveryTag => this.Scenario.AllTags.Append("other/app:v1");

    public static async Task<UserScenario> CreateAsync() => new(await DeletionScenario.CreateAsync());

    public UserSession Run(string typed) => this.Shell.Run(typed);

    /// <summary>Gets the repository:tag entries the registry still has, of those the seed pushed.</summary>
    public async Task<SortedSet<string>> RemainingTagsAsync()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        var remaining = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string repository in this.EveryTag.Select(t => t.Split(':')[0]).Distinct())
        {
            foreach (string tag in await client.ListTagsAsync(repository))
            {
                remaining.Add($"{repository}:{tag}");
            }
        }

        return remaining;
    }

    /// <summary>Gets every seeded tag except <paramref name="deleted"/>.</summary>
    public SortedSet<string> AllBut(params string[] deleted) =>
        new(this.EveryTag.Except(deleted, StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>Gets the full tag name (repository:tag) of the seeded tag ending in <paramref name="suffix"/>.</summary>
    public string Named(string suffix) => this.Scenario.AllTags.Single(t => t.EndsWith(suffix, StringComparison.Ordinal));

    public void Dispose() => this.Scenario.Dispose();
}
