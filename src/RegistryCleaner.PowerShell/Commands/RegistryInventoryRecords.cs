namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// How a tag's bytes split into bytes no other tag in scope needs and bytes it shares, as
/// <c>Get-RegistryLayer -UniqueBytes</c> emits it (PSTypeName <c>RegistryCleaner.TagBytes</c>).
/// </summary>
/// <param name="Registry">The registry (host[:port]).</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Digest">The manifest digest the tag points at.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when it starts with one.</param>
/// <param name="Size">Bytes of the distinct blobs the image needs (UniqueBytes + SharedBytes).</param>
/// <param name="UniqueBytes">Bytes of the blobs that no other tag read in the same command needs.</param>
/// <param name="SharedBytes">Bytes of the blobs that at least one other tag read also needs.</param>
public sealed record TagBytes(
    string Registry,
    string Repository,
    string Tag,
    string Digest,
    string? ObjectId,
    long Size,
    long UniqueBytes,
    long SharedBytes);
