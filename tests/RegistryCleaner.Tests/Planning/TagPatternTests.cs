using RegistryCleaner.Planning;

namespace RegistryCleaner.Tests.Planning;

public class TagPatternTests
{
    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("abc", "ABC", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("659c*", "659C7bce85f6381e675bb205-12", true)]
    [InlineData("*-1?", "659c7bce85f6381e675bb205-12", true)]
    [InlineData("*-1?", "659c7bce85f6381e675bb205-1", false)]
    [InlineData("a*b*c", "aXXbYYbZc", true)]
    [InlineData("a*b*c", "aXXbYYbZ", false)]
    [InlineData("**x", "x", true)]
    [InlineData("*v1-*_????????", "id-v1-202419163323_HfGeD8Ia", true)]
    public void Matches_like_PowerShell_wildcards(string pattern, string value, bool expected) =>
        Assert.Equal(expected, new TagPattern(pattern).IsMatch(value));

    [Fact]
    public void A_long_value_with_many_stars_matches_quickly()
    {
        string value = new('a', 100_000);
        Assert.False(new TagPattern("*a*a*a*a*a*b").IsMatch(value));
    }
}
