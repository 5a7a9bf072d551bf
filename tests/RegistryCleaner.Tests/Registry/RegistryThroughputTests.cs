using System.Diagnostics;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using Xunit.Abstractions;
using static RegistryCleaner.Tests.Infrastructure.PopulatedRegistry;

namespace RegistryCleaner.Tests.Registry;

[Collection(PopulatedRegistryCollection.Name)]
public class RegistryThroughputTests(PopulatedRegistry registry, ITestOutputHelper output)
{
    [Fact]
    public async Task Inventory_reads_at_least_half_the_raw_manifest_GET_rate()
    {
        using RegistryClient client = registry.CreateClient();
        IReadOnlyList<string> tags = await client.ListTagsAsync(Many, 1000, CancellationToken.None);

        // Raw rate: bare HttpClient GETs of the same manifests, same concurrency, no parsing.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 16 };
        using var raw = new HttpClient(handler) { BaseAddress = registry.Server.BaseAddress };
        async Task RawAsync(IEnumerable<string> some)
        {
            await Parallel.ForEachAsync(some, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (tag, ct) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{Many}/manifests/{tag}");
                request.Headers.TryAddWithoutValidation("Accept", MediaTypes.AcceptAll);
                using HttpResponseMessage response = await raw.SendAsync(request, ct);
                _ = await response.Content.ReadAsByteArrayAsync(ct);
            });
        }

        await RawAsync(tags.Take(64));
        var rawTime = Stopwatch.StartNew();
        await RawAsync(tags);
        rawTime.Stop();

        var readerTime = Stopwatch.StartNew();
        RegistryInventory inventory = await new InventoryReader(client, new InventoryReaderOptions { Repositories = [Many] }).ReadAllAsync(CancellationToken.None);
        readerTime.Stop();

        Assert.Equal(ManyTagCount, inventory.Tags.Count);
        double rawRate = tags.Count / rawTime.Elapsed.TotalSeconds;
        double readerRate = tags.Count / readerTime.Elapsed.TotalSeconds;
        output.WriteLine($"raw {rawRate:0}/s, inventory {readerRate:0}/s");
        Assert.True(readerRate >= rawRate / 2, $"inventory {readerRate:0}/s is below half the raw {rawRate:0}/s");
    }
}
