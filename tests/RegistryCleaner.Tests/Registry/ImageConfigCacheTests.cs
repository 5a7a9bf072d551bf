using System.Text;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Faults;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>The on-disk cache of image configurations by digest: what it stores, what it refuses, and what it saves.</summary>
public sealed class ImageConfigCacheTests : IDisposable
{
    private static readonly DateTimeOffset Created = new(2024, 3, 4, 5, 6, 7, TimeSpan.FromHours(2));
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-cache-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    private static (string Digest, byte[] Content) Config(string text)
    {
        byte[] content = Encoding.UTF8.GetBytes(text);
        return (ImagePusher.Digest(content), content);
    }

    [Fact]
    public void Entries_survive_a_save_and_reopen_with_creation_time_offset_and_missing_values()
    {
        (string withBoth, byte[] a) = Config("""{"created":"2024-03-04T05:06:07+02:00","os":"linux","architecture":"arm64","variant":"v8"}""");
        (string withNone, byte[] b) = Config("""{"rootfs":{}}""");
        ImageConfigCache cache = ImageConfigCache.Open(this.folder);
        Assert.Equal(0, cache.Loaded);
        Assert.True(cache.Add(withBoth, a, new ImageConfigFacts(Created, "linux/arm64/v8")));
        Assert.True(cache.Add(withNone, b, new ImageConfigFacts(null, null)));
        Assert.Null(cache.Save());

        ImageConfigCache reopened = ImageConfigCache.Open(this.folder);
        Assert.Equal(2, reopened.Loaded);
        Assert.True(reopened.TryGet(withBoth, out ImageConfigFacts both));
        Assert.Equal(Created, both.Created);
        Assert.Equal(Created.Offset, both.Created!.Value.Offset);
        Assert.Equal("linux/arm64/v8", both.Platform);
        Assert.True(reopened.TryGet(withNone, out ImageConfigFacts none));
        Assert.Equal(new ImageConfigFacts(null, null), none);
        Assert.False(reopened.TryGet("sha256:" + new string('0', 64), out _));
        Assert.Equal((2, 1), (reopened.Hits, reopened.Misses));
    }

    [Fact]
    public void A_new_cache_folder_is_the_users_alone()
    {
        string directory = Path.Combine(this.folder, "new", "cache");
        (string digest, byte[] content) = Config("y");
        ImageConfigCache cache = ImageConfigCache.Open(directory);
        cache.Add(digest, content, new ImageConfigFacts(Created, null));
        Assert.Null(cache.Save());
        Assert.True(File.Exists(cache.Path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        }
    }

    [Fact]
    public void Content_that_does_not_hash_to_its_digest_or_a_digest_that_is_not_sha256_is_never_stored()
    {
        (string digest, byte[] content) = Config("""{"created":"2024-01-01T00:00:00Z"}""");
        ImageConfigCache cache = ImageConfigCache.Open(this.folder);
        byte[] tampered = [.. content, (byte)' '];
        Assert.False(cache.Add(digest, tampered, new ImageConfigFacts(Created, null)));
        Assert.False(cache.Add("sha512:" + new string('a', 128), content, new ImageConfigFacts(Created, null)));
        Assert.False(cache.Add(digest.ToUpperInvariant(), content, new ImageConfigFacts(Created, null)));
        Assert.False(cache.Add(digest, content, new ImageConfigFacts(Created, "linux\tamd64")));
        Assert.False(cache.TryGet(digest, out _));
        Assert.Null(cache.Save());
        Assert.False(File.Exists(cache.Path));
    }

    [Fact]
    public void Lines_that_do_not_parse_are_skipped_and_the_rest_is_read()
    {
        (string good, _) = Config("good");
        string path = Path.Combine(this.folder, ImageConfigCache.FileName);
        File.WriteAllText(path, string.Join('\n',
            $"{good}\t2024-03-04T05:06:07.0000000+02:00\tlinux/amd64",
            "sha256:1234\t-\t-",
            $"sha256:{new string('b', 64)}\tyesterday\t-",
            $"sha256:{new string('c', 64)}\t-",
            $"sha256:{new string('d', 64)}\t2024-03-04T05:06:07.0000000+02:00\tlinux/amd") + "\n" + $"sha256:{new string('e', 64)}\t2024-03-04T05:"); // the last one cut short
        ImageConfigCache cache = ImageConfigCache.Open(this.folder);
        Assert.Equal(2, cache.Loaded);
        Assert.True(cache.TryGet(good, out ImageConfigFacts facts));
        Assert.Equal(Created, facts.Created);
        Assert.True(cache.TryGet($"sha256:{new string('d', 64)}", out _));
        Assert.False(cache.TryGet($"sha256:{new string('e', 64)}", out _));
        Assert.Null(cache.LoadProblem);
    }

    [Fact]
    public void A_cache_that_cannot_be_saved_says_where_and_why_and_keeps_working()
    {
        // A folder where the file should be: it cannot be opened as a file by anyone, root included.
        Directory.CreateDirectory(Path.Combine(this.folder, ImageConfigCache.FileName));
        (string digest, byte[] content) = Config("x");
        ImageConfigCache cache = ImageConfigCache.Open(this.folder);
        Assert.True(cache.Add(digest, content, new ImageConfigFacts(Created, null)));
        string? problem = cache.Save();
        Assert.NotNull(problem);
        Assert.Contains(cache.Path, problem, StringComparison.Ordinal);
        Assert.Contains("downloads those configurations again", problem, StringComparison.Ordinal);
        Assert.True(cache.TryGet(digest, out _));
    }

    [Fact]
    public void Concurrent_saves_append_whole_lines_and_lose_nothing()
    {
        const int Writers = 8;
        const int PerWriter = 200;
        Parallel.For(0, Writers, writer =>
        {
            ImageConfigCache cache = ImageConfigCache.Open(this.folder);
            for (int i = 0; i < PerWriter; i++)
            {
                (string digest, byte[] content) = Config($"{writer}-{i}");
                cache.Add(digest, content, new ImageConfigFacts(Created.AddSeconds(i), "linux/amd64"));
                if (i % 50 == 49)
                {
                    Assert.Null(cache.Save());
                }
            }
        });

        ImageConfigCache reopened = ImageConfigCache.Open(this.folder);
        Assert.Equal(Writers * PerWriter, reopened.Loaded);
        Assert.Equal(Writers * PerWriter, File.ReadAllLines(reopened.Path).Length);
    }

    [Fact]
    public void A_file_grown_past_its_limit_is_rewritten_with_the_entries_this_read_used()
    {
        ImageConfigCache first = ImageConfigCache.Open(this.folder, maxFileBytes: 1000);
        var digests = new List<string>();
        for (int i = 0; i < 20; i++)
        {
            (string digest, byte[] content) = Config($"old-{i}");
            first.Add(digest, content, new ImageConfigFacts(Created, "linux/amd64"));
            digests.Add(digest);
        }

        Assert.Null(first.Save());
        Assert.True(new FileInfo(first.Path).Length > 1000);

        ImageConfigCache second = ImageConfigCache.Open(this.folder, maxFileBytes: 1000);
        Assert.True(second.TryGet(digests[3], out _));
        (string fresh, byte[] freshContent) = Config("new");
        second.Add(fresh, freshContent, new ImageConfigFacts(null, null));
        Assert.Null(second.Save());

        ImageConfigCache third = ImageConfigCache.Open(this.folder, maxFileBytes: 1000);
        Assert.Equal(2, third.Loaded);
        Assert.True(third.TryGet(digests[3], out _));
        Assert.True(third.TryGet(fresh, out _));
    }
}

/// <summary>The cache in an inventory read against the real registry: a second read downloads no configuration and reads the same.</summary>
public sealed class ImageConfigCacheInventoryTests : IAsyncLifetime
{
    private FaultRegistry registry = null!;
    private string folder = null!;

    public async Task InitializeAsync()
    {
        this.registry = await FaultRegistry.CreateAsync();
        this.folder = Directory.CreateTempSubdirectory("registrycleaner-cache-").FullName;
    }

    public async Task DisposeAsync()
    {
        await this.registry.DisposeAsync();
        Directory.Delete(this.folder, recursive: true);
    }

    private async Task<RegistryInventory> ReadAsync(ImageConfigCache? cache)
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry), new RegistryClientOptions());
        var reader = new InventoryReader(client, new InventoryReaderOptions { ConfigCache = cache });
        RegistryInventory inventory = await reader.ReadAllAsync(CancellationToken.None);
        Assert.Empty(reader.Errors);
        return inventory;
    }

    private int BlobGets() => this.registry.Proxy.Requests.Where(r => r.Key.StartsWith("GET ", StringComparison.Ordinal) && r.Key.Contains("/blobs/", StringComparison.Ordinal)).Sum(r => r.Value);

    [Fact]
    public async Task A_second_read_takes_every_configuration_from_the_cache_and_equals_a_read_without_it()
    {
        RegistryInventory uncached = await ReadAsync(null);
        int configs = this.BlobGets();
        Assert.Equal(FaultRegistry.Tags.Length, configs);

        ImageConfigCache first = ImageConfigCache.Open(this.folder);
        RegistryInventory cold = await ReadAsync(first);
        Assert.Equal((0, configs), (first.Hits, first.Misses));
        Assert.Equal(2 * configs, this.BlobGets());
        Assert.Null(first.Save());

        ImageConfigCache second = ImageConfigCache.Open(this.folder);
        RegistryInventory warm = await ReadAsync(second);
        Assert.Equal((configs, 0), (second.Hits, second.Misses));
        Assert.Equal(2 * configs, this.BlobGets());

        foreach (RegistryInventory inventory in new[] { cold, warm })
        {
            Assert.Equal(
                uncached.Manifests.Select(m => (m.Repository, m.Digest, m.Created, m.Platform, m.Config?.Digest)),
                inventory.Manifests.Select(m => (m.Repository, m.Digest, m.Created, m.Platform, m.Config?.Digest)));
            Assert.All(inventory.Manifests, m => Assert.NotNull(m.Created));
        }
    }

    [Fact]
    public void The_cmdlets_use_the_cache_say_so_in_verbose_and_can_turn_it_off()
    {
        using var session = new PowerShellSession(this.folder);
        string command = $"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository 'app/*' -Verbose";
        PowerShellResult first = session.Run(command);
        Assert.Null(first.Terminating);
        Assert.Contains(first.Verbose, v => v.Contains(TestEnvironment.CacheDirectory, StringComparison.Ordinal));
        int afterFirst = this.BlobGets();

        PowerShellResult second = session.Run(command);
        Assert.Contains(second.Verbose, v => v == $"Image configurations: {FaultRegistry.Tags.Length} from the cache, 0 downloaded.");
        Assert.Equal(afterFirst, this.BlobGets());
        Assert.Equal(
            first.Output.Select(o => $"{o.Properties["Tag"].Value} {o.Properties["Created"].Value} {o.Properties["Platforms"].Value}").Order(StringComparer.Ordinal),
            second.Output.Select(o => $"{o.Properties["Tag"].Value} {o.Properties["Created"].Value} {o.Properties["Platforms"].Value}").Order(StringComparer.Ordinal));

        File.WriteAllText(Path.Combine(this.folder, "off.yaml"), "analysis:\n  cache: false\n");
        PowerShellResult off = session.Run(command + " -ConfigPath off.yaml");
        Assert.Contains(off.Verbose, v => v.StartsWith("The image configuration cache is off", StringComparison.Ordinal));
        Assert.Equal(afterFirst + FaultRegistry.Tags.Length, this.BlobGets());
        Assert.Equal(FaultRegistry.Tags.Length, off.Output.Count);
    }
}
