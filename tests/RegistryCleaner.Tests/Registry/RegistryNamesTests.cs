using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Registry;

/// <summary>The distribution reference grammar every name passes before it reaches a URL or a path.</summary>
public class RegistryNamesTests
{
    private static readonly string Sha256 = "sha256:" + new string('a', 64);

    [Theory]
    [InlineData("app")]
    [InlineData("dominodatalab/environment")]
    [InlineData("a/b/c/d")]
    [InlineData("my.repo/with_under__score/and---dashes")]
    [InlineData("0/9")]
    [InlineData("library/ubuntu")]
    public void Valid_repositories(string name)
    {
        Assert.True(RegistryNames.IsRepository(name));
        Assert.Null(RegistryNames.RepositoryError(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x/%2E%2E/app")]
    [InlineData("x/../app")]
    [InlineData("./app")]
    [InlineData("/app")]
    [InlineData("app/")]
    [InlineData("a//b")]
    [InlineData("App")]
    [InlineData("app?n=1")]
    [InlineData("app#x")]
    [InlineData("a b")]
    [InlineData("a\\b")]
    [InlineData("app\n")]
    [InlineData("app\u001b[31m")]
    [InlineData("_app")]
    [InlineData("app_")]
    [InlineData("a___b")]
    [InlineData("a..b")]
    [InlineData("a._b")]
    [InlineData("ápp")]
    public void Invalid_repositories(string name)
    {
        Assert.False(RegistryNames.IsRepository(name));
        Assert.NotNull(RegistryNames.RepositoryError(name));
        Assert.Throws<ArgumentException>(() => RegistryNames.ThrowIfNotRepository(name, "repository"));
    }

    [Fact]
    public void A_repository_is_at_most_255_characters()
    {
        string longest = string.Join('/', Enumerable.Repeat(new string('a', 50), 4)) + "/" + new string('b', 51);
        Assert.Equal(255, longest.Length);
        Assert.True(RegistryNames.IsRepository(longest));
        Assert.Contains("longer than 255", RegistryNames.RepositoryError(longest + "f"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("659c7bce85f6381e675bb205-12")]
    [InlineData("659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia")]
    [InlineData("_x")]
    [InlineData("V1.2.3")]
    [InlineData("sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig")]
    public void Valid_tags(string tag) => Assert.True(RegistryNames.IsTag(tag));

    [Theory]
    [InlineData("")]
    [InlineData("a/../../b%2F..")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("-x")]
    [InlineData("a:b")]
    [InlineData("a/b")]
    [InlineData("a%2Fb")]
    [InlineData("a b")]
    [InlineData("tag\n")]
    [InlineData("tag\u001b]0;pwned\u0007")]
    [InlineData("a?b")]
    [InlineData("a#b")]
    public void Invalid_tags(string tag)
    {
        Assert.False(RegistryNames.IsTag(tag));
        Assert.Throws<ArgumentException>(() => RegistryNames.ThrowIfNotTag(tag, "tag"));
    }

    [Fact]
    public void A_tag_is_at_most_128_characters()
    {
        Assert.True(RegistryNames.IsTag(new string('a', 128)));
        Assert.False(RegistryNames.IsTag(new string('a', 129)));
    }

    [Theory]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha384:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("multihash+base58:0123456789abcdef0123456789abcdef")]
    public void Valid_digests(string digest) => Assert.True(RegistryNames.IsDigest(digest));

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData("sha256:abc")]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    [InlineData("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/../x")]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")]
    [InlineData("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("../blobs:0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:%2e%2e")]
    public void Invalid_digests(string digest)
    {
        Assert.False(RegistryNames.IsDigest(digest));
        Assert.Throws<ArgumentException>(() => RegistryNames.ThrowIfNotDigest(digest, "digest"));
    }

    [Theory]
    [InlineData("latest", true)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:short", false)]
    [InlineData("a/../b", false)]
    public void A_reference_is_a_tag_or_a_digest(string reference, bool valid)
    {
        Exception? error = Record.Exception(() => RegistryNames.ThrowIfNotReference(reference, "reference"));
        Assert.Equal(valid, error is null);
    }

    [Fact]
    public void An_invalid_name_is_quoted_with_its_control_characters_escaped_and_cut()
    {
        string message = RegistryNames.TagError("x\u001b[2J\u009b\u202e'")!;
        Assert.Contains(@"'x\u001b[2J\u009b\u202e\u0027'", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', message);
        string quoted = RegistryNames.Quote(new string('a', 10_000));
        Assert.True(quoted.Length < 400, quoted.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("(10000 characters)", quoted, StringComparison.Ordinal);
    }

    [Fact]
    public void Workload_references_use_the_same_grammar()
    {
        Assert.True(ImageReferenceParser.TryParse("docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-12", out _));
        Assert.True(ImageReferenceParser.TryParse("registry/app@" + Sha256, out _));

        // '$' in the old patterns let a final newline through; the shared grammar does not.
        Assert.False(ImageReferenceParser.TryParse("registry/app:tag\n", out _));
        Assert.False(ImageReferenceParser.TryParse("registry/app\n:tag", out _));
        Assert.False(ImageReferenceParser.TryParse("registry/app@" + Sha256 + "\n", out _));
        Assert.False(ImageReferenceParser.TryParse("registry/app@sha256:" + new string('A', 64), out _));
        Assert.False(ImageReferenceParser.TryParse("registry/x/%2E%2E/app:tag", out _));
    }
}
