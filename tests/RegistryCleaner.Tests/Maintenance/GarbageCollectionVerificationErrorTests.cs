using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// An unexpected error during the verification, after garbage collection ran and the registry was restored, still
/// gives the result object (the run is not lost): the real registry and garbage-collect, behind a host that restarts
/// the test's registry, with a problem handler that throws.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GarbageCollectionVerificationErrorTests : IDisposable
{
    private const string Repository = "dominodatalab/environment";
    private readonly RegistryServer registry = new(new RegistryServerOptions { Restartable = true });

    public void Dispose() => this.registry.Dispose();

    [Fact]
    public async Task An_unexpected_error_while_verifying_still_gives_the_result_with_the_verification_not_run()
    {
        using var pusher = new ImagePusher(this.registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-1", [ImagePusher.Layer(301, 800), ImagePusher.Layer(302, 900)]);
        string layer = image.Layers[1].Digest;
        File.Delete(Path.Combine(this.registry.StoragePath, "docker", "registry", "v2", "blobs", "sha256", layer[7..9], layer[7..], "data"));
        using var host = new TestRegistryHost(this.registry);
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry));
        var collector = new RegistryGarbageCollector(host, client, new GarbageCollectionOptions
        {
            ProbeRepository = Repository,
            OnProblem = _ => throw new InvalidOperationException("the problem handler broke"),
        });

        await collector.PrepareAsync(CancellationToken.None);
        GarbageCollectionResult result = await collector.RunAsync(dryRun: false, CancellationToken.None);

        Assert.Equal(GarbageCollectionStatus.Completed, result.Status);
        Assert.Equal("NotRun", result.Verification);
        Assert.Contains("unexpected error (InvalidOperationException: the problem handler broke)", result.Reason, StringComparison.Ordinal);
        Assert.Contains("Test-RegistryImage", result.Reason, StringComparison.Ordinal);
        Assert.Equal([true, false], host.Restarts);
        Assert.True(await client.IsWritableAsync(Repository, CancellationToken.None));
    }

    private sealed class TestRegistryHost(RegistryServer registry) : IRegistryHost
    {
        public List<bool> Restarts { get; } = [];

        public string Mode => "Test";

        public string Target => "the test's registry";

        public int? ProcessId => registry.ProcessId;

        public string? LeftoverWindow => null;

        public string ConfigPath => registry.ConfigPath;

        public Task InspectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RestartAsync(bool readOnly, CancellationToken cancellationToken)
        {
            this.Restarts.Add(readOnly);
            registry.Restart(readOnly ? new Dictionary<string, string> { [ReadOnlyWindow.Variable] = ReadOnlyWindow.Enabled } : null);
            return Task.CompletedTask;
        }

        public Task<int> RunRegistryAsync(IReadOnlyList<string> arguments, Action<string> onLine, CancellationToken cancellationToken) =>
            LocalCommand.RunAsync("/usr/bin/docker-registry", arguments, null, onLine, cancellationToken);

        public Task<IReadOnlyDictionary<string, long>?> MeasureBlobsAsync(IReadOnlyCollection<string> digests, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, long>?>(null);

        public void Dispose()
        {
        }
    }
}
