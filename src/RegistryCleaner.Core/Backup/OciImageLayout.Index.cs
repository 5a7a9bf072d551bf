using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegistryCleaner.Backup;

/// <content>
/// The layout's <c>index.json</c>: read as it stands (it is only ever replaced by a rename), and updated by one writer
/// at a time (a lock file across processes, a gate within this one) that rereads it and merges its entries in.
/// </content>
public sealed partial class OciImageLayout
{
    /// <summary>Reads the descriptors of <c>index.json</c>.</summary>
    /// <returns>The entries, in file order.</returns>
    /// <exception cref="OciLayoutException"><c>index.json</c> is missing or not an image index.</exception>
    public IReadOnlyList<OciLayoutEntry> ReadIndex()
    {
        lock (this.indexGate)
        {
            return ParseIndex(this.IndexPath, ReadShared(this.IndexPath));
        }
    }

    /// <summary>
    /// Adds descriptors to <c>index.json</c>; an entry with the same digest and reference name as an existing one
    /// replaces it. The blobs the entries reach must be stored first, so that the index never names what is missing.
    /// </summary>
    /// <param name="entries">The entries to add.</param>
    public void AddToIndex(IEnumerable<OciLayoutEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        OciLayoutEntry[] added = entries.ToArray();
        foreach (OciLayoutEntry entry in added)
        {
            if (this.BlobSize(entry.Digest) is null)
            {
                throw new InvalidOperationException($"{entry.Digest} is added to the index of '{this.Path}' before its blob is stored.");
            }
        }

        lock (this.indexGate)
        {
            // The lock file serialises writers in other processes; index.json itself is replaced by a rename.
            using FileStream gate = OpenLock(System.IO.Path.Combine(this.Path, "index.json.lock"));
            List<OciLayoutEntry> current = ParseIndex(this.IndexPath, ReadShared(this.IndexPath)).ToList();
            foreach (OciLayoutEntry entry in added)
            {
                string key = Identity(entry);
                current.RemoveAll(e => Identity(e) == key);
                current.Add(entry);
            }

            var manifests = new JsonArray();
            foreach (OciLayoutEntry entry in current)
            {
                var annotations = new JsonObject();
                foreach ((string key, string value) in entry.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal))
                {
                    annotations[key] = value;
                }

                var descriptor = new JsonObject { ["mediaType"] = entry.MediaType, ["digest"] = entry.Digest, ["size"] = entry.Size };
                if (annotations.Count > 0)
                {
                    descriptor["annotations"] = annotations;
                }

                manifests.Add(descriptor);
            }

            WriteAtomically(this.IndexPath, JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = IndexMediaType,
                ["manifests"] = manifests,
            }, Indented));
        }
    }

    private string IndexPath => System.IO.Path.Combine(this.Path, "index.json");

    // Entries are the same when they name the same manifest under the same reference for the same image and tag.
    private static string Identity(OciLayoutEntry entry) => string.Join(
        '\n',
        entry.Digest,
        entry.RefName,
        entry.Annotations.GetValueOrDefault(BackupAnnotations.Registry),
        entry.Annotations.GetValueOrDefault(BackupAnnotations.Repository),
        entry.Annotations.GetValueOrDefault(BackupAnnotations.Tag),
        entry.Annotations.GetValueOrDefault(BackupAnnotations.ConvertedFrom));

    private static List<OciLayoutEntry> ParseIndex(string path, byte[] content)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("manifests", out JsonElement manifests) || manifests.ValueKind != JsonValueKind.Array)
            {
                throw new OciLayoutException($"'{path}' is not an image index: it has no 'manifests' array.");
            }

            var entries = new List<OciLayoutEntry>();
            int position = 0;
            foreach (JsonElement item in manifests.EnumerateArray())
            {
                position++;
                string? mediaType = item.TryGetProperty("mediaType", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                string? digest = item.TryGetProperty("digest", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                long size = item.TryGetProperty("size", out JsonElement s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out long n) ? n : -1;
                if (mediaType is null || !IsValidDigest(digest) || size < 0)
                {
                    throw new OciLayoutException($"'{path}' manifests[{position - 1}] is not a descriptor with mediaType, a sha256 or sha512 digest and a size.");
                }

                var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
                if (item.TryGetProperty("annotations", out JsonElement a) && a.ValueKind == JsonValueKind.Object)
                {
                    foreach (JsonProperty property in a.EnumerateObject())
                    {
                        if (property.Value.ValueKind == JsonValueKind.String)
                        {
                            annotations[property.Name] = property.Value.GetString()!;
                        }
                    }
                }

                entries.Add(new OciLayoutEntry(mediaType, digest!, size, annotations));
            }

            return entries;
        }
        catch (JsonException ex)
        {
            throw new OciLayoutException($"'{path}' is not JSON: {ex.Message}", ex);
        }
    }

    private static byte[] ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            byte[] content = new byte[stream.Length];
            stream.ReadExactly(content);
            return content;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new OciLayoutException($"The OCI image layout has no index.json ('{path}').", ex);
        }
    }

    private static FileStream OpenLock(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 500)
            {
                Thread.Sleep(10);
            }
        }
    }
}
