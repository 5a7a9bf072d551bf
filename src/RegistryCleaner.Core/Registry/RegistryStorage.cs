using System.Security.Cryptography;

namespace RegistryCleaner.Registry;

/// <summary>What reading a registry's storage added to an inventory.</summary>
/// <param name="Inventory">The inventory with the untagged manifests added (<see cref="RegistryInventory.IncludesUntaggedManifests"/> set).</param>
/// <param name="Added">How many manifest revisions only the storage knew of (untagged ones).</param>
/// <param name="Problems">Revisions that could not be read (a missing or damaged blob), in words; they are left out.</param>
public sealed record StorageReadResult(RegistryInventory Inventory, int Added, IReadOnlyList<string> Problems);

/// <summary>The folder given as a registry's storage is not the storage of the registry that was read.</summary>
public sealed class RegistryStorageMismatchException : IOException
{
    /// <summary>Initializes the exception.</summary>
    public RegistryStorageMismatchException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What does not match, and what to do.</param>
    public RegistryStorageMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What does not match, and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryStorageMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Reads the storage of a filesystem-backed distribution registry (its <c>storage.filesystem.rootdirectory</c>),
/// read-only: files are opened for reading only, nothing is created, moved or locked. The layout is
/// <c>docker/registry/v2/repositories/&lt;name&gt;/_manifests/revisions/sha256/&lt;hex&gt;/link</c> for every manifest
/// revision, <c>_manifests/tags/&lt;tag&gt;/current/link</c> for every tag, and <c>blobs/sha256/&lt;2&gt;/&lt;hex&gt;/data</c>
/// for content. It is how untagged manifests are seen, which the distribution API cannot list.
/// </summary>
public sealed class RegistryStorage
{
    // distribution refuses manifests over 4 MiB; an image configuration is rarely over a few hundred KiB.
    private const int MaxManifestBytes = 4 * 1024 * 1024;
    private const int MaxConfigBytes = 8 * 1024 * 1024;
    private readonly string v2;

    private RegistryStorage(string rootDirectory, string v2)
    {
        this.RootDirectory = rootDirectory;
        this.v2 = v2;
    }

    /// <summary>Gets the storage root directory (the registry's <c>rootdirectory</c>).</summary>
    public string RootDirectory { get; }

    /// <summary>Opens a registry's storage root directory.</summary>
    /// <param name="rootDirectory">The <c>rootdirectory</c> of the registry's filesystem storage.</param>
    /// <returns>The storage.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder is not a registry's storage.</exception>
    public static RegistryStorage Open(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        string full = Path.GetFullPath(rootDirectory);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException(
                $"The registry storage folder '{full}' does not exist. Give the rootdirectory of the registry's storage.filesystem configuration (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY; /var/lib/registry by default).");
        }

        string v2 = Path.Combine(full, "docker", "registry", "v2");
        if (!Directory.Exists(Path.Combine(v2, "repositories")) || !Directory.Exists(Path.Combine(v2, "blobs")))
        {
            throw new InvalidDataException(
                $"'{full}' is not a registry's storage: it has no docker/registry/v2/repositories and blobs folders. Give the rootdirectory of the registry's storage.filesystem configuration (the folder that holds 'docker').");
        }

        return new RegistryStorage(full, v2);
    }

    /// <summary>Lists every repository in the storage (folders that hold <c>_manifests</c>), named with <c>/</c>.</summary>
    /// <returns>The repository names, ordinal order.</returns>
    public IReadOnlyList<string> Repositories()
    {
        string top = Path.Combine(this.v2, "repositories");
        var found = new List<string>();
        var pending = new Stack<string>();
        pending.Push(top);
        while (pending.TryPop(out string? folder))
        {
            foreach (string child in Directory.EnumerateDirectories(folder))
            {
                string name = Path.GetFileName(child);
                if (name == "_manifests")
                {
                    found.Add(Path.GetRelativePath(top, folder).Replace(Path.DirectorySeparatorChar, '/'));
                }
                else if (!name.StartsWith('_'))
                {
                    pending.Push(child);
                }
            }
        }

        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>Reads the digest a tag points at in the storage.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The digest, or <see langword="null"/> when the storage has no such tag.</returns>
    public string? TagDigest(string repository, string tag)
    {
        if (!IsSafeName(repository) || !RegistryNames.IsTag(tag))
        {
            return null;
        }

        return ReadLink(Path.Combine(this.RepositoryFolder(repository), "_manifests", "tags", tag, "current", "link"));
    }

    /// <summary>Lists the manifest revisions of a repository: every manifest it holds, tagged or not.</summary>
    /// <param name="repository">The repository.</param>
    /// <returns>The digests (<c>sha256:…</c>) whose revision link is valid.</returns>
    public IReadOnlyList<string> Revisions(string repository)
    {
        if (!IsSafeName(repository))
        {
            return [];
        }

        string folder = Path.Combine(this.RepositoryFolder(repository), "_manifests", "revisions", "sha256");
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var digests = new List<string>();
        foreach (string revision in Directory.EnumerateDirectories(folder))
        {
            string digest = "sha256:" + Path.GetFileName(revision);

            // distribution removes the link file when a manifest is deleted; the folder may stay behind.
            if (string.Equals(ReadLink(Path.Combine(revision, "link")), digest, StringComparison.Ordinal))
            {
                digests.Add(digest);
            }
        }

        digests.Sort(StringComparer.Ordinal);
        return digests;
    }

    /// <summary>Reads a blob's content, checked against its digest.</summary>
    /// <param name="digest">The blob digest (<c>sha256:…</c>).</param>
    /// <param name="maxBytes">The largest blob accepted.</param>
    /// <returns>The content, or <see langword="null"/> when the storage has no such blob.</returns>
    /// <exception cref="InvalidDataException">The blob is larger than <paramref name="maxBytes"/> or does not hash to its digest.</exception>
    public byte[]? ReadBlob(string digest, int maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !IsLowerHex(digest.AsSpan(7)))
        {
            throw new InvalidDataException($"'{digest}' is not a sha256 digest.");
        }

        string hex = digest[7..];
        string path = Path.Combine(this.v2, "blobs", "sha256", hex[..2], hex, "data");
        if (!File.Exists(path))
        {
            return null;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length > maxBytes)
        {
            throw new InvalidDataException($"Blob {digest} is {stream.Length} bytes, more than the {maxBytes} accepted.");
        }

        byte[] content = new byte[stream.Length];
        stream.ReadExactly(content);
        string actual = "sha256:" + Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
        return string.Equals(actual, digest, StringComparison.Ordinal)
            ? content
            : throw new InvalidDataException($"Blob {digest} in the storage hashes to {actual}: it is damaged.");
    }

    /// <summary>
    /// Adds every manifest revision the storage holds and the inventory lacks (untagged manifests: the old manifests of
    /// overwritten tags, images pushed by digest) to an inventory read through the API of the same registry. First
    /// checks that this is that registry's storage: the tags the API served must point at the same digests here.
    /// </summary>
    /// <param name="inventory">The inventory read through the registry's API.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The inventory with the untagged manifests, and what could not be read.</returns>
    /// <exception cref="RegistryStorageMismatchException">The storage does not hold the registry's tags.</exception>
    public StorageReadResult AddUntaggedManifests(RegistryInventory inventory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        this.CheckMatches(inventory);

        var known = new HashSet<(string, string)>(inventory.Manifests.Select(static m => (m.Repository, m.Digest)));
        var repositories = new List<string>(inventory.Repositories);
        var problems = new List<string>();
        foreach (string repository in this.Repositories())
        {
            if (RegistryNames.RepositoryError(repository) is { } error)
            {
                problems.Add($"A repository folder of the storage is not a repository name, so it is not read: {error}.");
            }
            else if (!repositories.Contains(repository, StringComparer.Ordinal))
            {
                repositories.Add(repository);
            }
        }

        var added = new List<ManifestRecord>();
        var configs = new Dictionary<string, (DateTimeOffset? Created, string? Platform)>(StringComparer.Ordinal);
        foreach (string repository in repositories)
        {
            foreach (string digest in this.Revisions(repository))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (known.Contains((repository, digest)))
                {
                    continue;
                }

                try
                {
                    byte[]? content = this.ReadBlob(digest, MaxManifestBytes);
                    if (content is null)
                    {
                        problems.Add($"{repository}@{digest}: its revision link names a blob the storage does not have.");
                        continue;
                    }

                    ManifestRecord manifest = ManifestParser.Parse(inventory.Registry, repository, digest, null, content);
                    if (manifest.Config is { } config && ManifestParser.IsImageConfig(config.MediaType))
                    {
                        if (!configs.TryGetValue(config.Digest, out (DateTimeOffset? Created, string? Platform) facts))
                        {
                            byte[]? blob = this.ReadBlob(config.Digest, MaxConfigBytes);
                            facts = blob is null ? (null, null) : ManifestParser.ParseConfig(blob);
                            configs[config.Digest] = facts;
                        }

                        manifest = manifest with { Created = facts.Created, Platform = facts.Platform };
                    }

                    added.Add(manifest);
                }
                catch (Exception ex) when (ex is InvalidDataException or ManifestFormatException or IOException or UnauthorizedAccessException)
                {
                    problems.Add($"{repository}@{digest}: {ex.Message}");
                }
            }
        }

        RegistryInventory result = inventory with
        {
            Repositories = repositories,
            Manifests = [.. inventory.Manifests, .. added],
            IncludesUntaggedManifests = true,
        };
        return new StorageReadResult(result, added.Count, problems);
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    // Repository names come from the registry or from folder names: only a name by the distribution grammar (no '.',
    // '..', '_' start, separators or controls) becomes a path, so none walks out of the storage folder.
    private static bool IsSafeName(string repository) => RegistryNames.IsRepository(repository);

    private static string? ReadLink(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > 200)
            {
                return null;
            }

            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private string RepositoryFolder(string repository) =>
        Path.Combine([this.v2, "repositories", .. repository.Split('/')]);

    private void CheckMatches(RegistryInventory inventory)
    {
        if (inventory.Tags.Count == 0)
        {
            return;
        }

        // A few tags may move between the API read and this one; none matching means another registry's storage.
        int sample = 0;
        int matched = 0;
        TagRecord? first = null;
        foreach (TagRecord tag in inventory.Tags)
        {
            if (++sample > 200)
            {
                break;
            }

            if (string.Equals(this.TagDigest(tag.Repository, tag.Tag), tag.Digest, StringComparison.Ordinal))
            {
                matched++;
            }
            else
            {
                first ??= tag;
            }
        }

        if (matched == 0)
        {
            throw new RegistryStorageMismatchException(
                $"'{this.RootDirectory}' is not the storage of registry {inventory.Registry}: tag {first!.Repository}:{first.Tag} points at {first.Digest} in the registry but not in this storage. Give the rootdirectory of this registry's storage.filesystem configuration.");
        }
    }
}
