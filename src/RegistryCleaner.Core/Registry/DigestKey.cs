using System.Buffers.Binary;

namespace RegistryCleaner.Registry;

/// <summary>
/// A <c>sha256:</c> digest kept as its 32 bytes: a table keyed by it holds 32 bytes per entry where the digest's string
/// takes 168. The string is made again only when it is written out (<see cref="ToString"/>), and reads back exactly:
/// only the canonical form (lowercase hex) is accepted.
/// </summary>
internal readonly struct DigestKey : IEquatable<DigestKey>, IComparable<DigestKey>
{
    /// <summary>The length of a <c>sha256:</c> digest string.</summary>
    public const int Length = 71;

    private const string Prefix = "sha256:";
    private readonly ulong a;
    private readonly ulong b;
    private readonly ulong c;
    private readonly ulong d;

    private DigestKey(ulong a, ulong b, ulong c, ulong d)
    {
        this.a = a;
        this.b = b;
        this.c = c;
        this.d = d;
    }

    /// <summary>Reads a digest in its canonical form, <c>sha256:</c> and 64 lowercase hex digits.</summary>
    /// <param name="digest">The digest.</param>
    /// <param name="key">The key, when the digest is one.</param>
    /// <returns>Whether the digest is a canonical <c>sha256:</c> digest.</returns>
    public static bool TryParse(ReadOnlySpan<char> digest, out DigestKey key)
    {
        key = default;
        if (digest.Length != Length || !digest.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        Span<ulong> words = stackalloc ulong[4];
        ReadOnlySpan<char> hex = digest[Prefix.Length..];
        for (int word = 0; word < 4; word++)
        {
            ulong value = 0;
            for (int i = 0; i < 16; i++)
            {
                int nibble = hex[(word * 16) + i] switch
                {
                    >= '0' and <= '9' and char ch => ch - '0',
                    >= 'a' and <= 'f' and char ch => ch - 'a' + 10,
                    _ => -1,
                };
                if (nibble < 0)
                {
                    return false;
                }

                value = (value << 4) | (uint)nibble;
            }

            words[word] = value;
        }

        key = new DigestKey(words[0], words[1], words[2], words[3]);
        return true;
    }

    /// <summary>Writes the digest string (<see cref="Length"/> characters) into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="Length"/> characters.</param>
    public void Format(Span<char> destination)
    {
        Prefix.AsSpan().CopyTo(destination);
        Span<byte> bytes = stackalloc byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, this.a);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], this.b);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], this.c);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], this.d);
        for (int i = 0; i < bytes.Length; i++)
        {
            destination[Prefix.Length + (2 * i)] = "0123456789abcdef"[bytes[i] >> 4];
            destination[Prefix.Length + (2 * i) + 1] = "0123456789abcdef"[bytes[i] & 0xF];
        }
    }

    /// <summary>Returns the digest string, <c>sha256:</c> and 64 lowercase hex digits.</summary>
    /// <returns>The digest.</returns>
    public override string ToString() => string.Create(Length, this, static (chars, key) => key.Format(chars));

    /// <summary>Compares as the digest strings compare (ordinal): the bytes, most significant first.</summary>
    /// <param name="other">The other digest.</param>
    /// <returns>The order.</returns>
    public int CompareTo(DigestKey other)
    {
        int order = this.a.CompareTo(other.a);
        order = order != 0 ? order : this.b.CompareTo(other.b);
        order = order != 0 ? order : this.c.CompareTo(other.c);
        return order != 0 ? order : this.d.CompareTo(other.d);
    }

    /// <inheritdoc />
    public bool Equals(DigestKey other) => this.a == other.a && this.b == other.b && this.c == other.c && this.d == other.d;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DigestKey other && this.Equals(other);

    /// <inheritdoc />
    // Seeded per process: a registry chooses the digests its manifests name, so it must not choose the buckets too.
    public override int GetHashCode() => HashCode.Combine(this.a, this.b, this.c, this.d);
}
