using RegistryCleaner.Domino;

namespace RegistryCleaner.Tests.Domino;

public class ObjectIdTests
{
    private const string Id = "659c7bce85f6381e675bb205";

    [Theory]
    [InlineData(Id, true)]
    [InlineData("659C7BCE85F6381E675BB205", true)]
    [InlineData("659c7bce85f6381e675bb20", false)]
    [InlineData("659c7bce85f6381e675bb2055", false)]
    [InlineData("659c7bce85f6381e675bb20g", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValid_accepts_exactly_24_hex_characters(string? value, bool expected) =>
        Assert.Equal(expected, ObjectId.IsValid(value));

    [Fact]
    public void Normalize_lower_cases_and_trims() =>
        Assert.Equal(Id, ObjectId.Normalize(" 659C7BCE85F6381E675BB205 "));

    [Fact]
    public void Normalize_rejects_a_bad_id_with_the_value_in_the_message()
    {
        FormatException error = Assert.Throws<FormatException>(() => ObjectId.Normalize("659c7bce85f6381e675bb20g"));
        Assert.Contains("659c7bce85f6381e675bb20g", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Id, true)]
    [InlineData(Id + "-12", true)]
    [InlineData(Id + "-v1-202419163323_HfGeD8Ia", true)]
    [InlineData("659C7BCE85F6381E675BB205-3", true)]
    [InlineData(Id + "12", false)]
    [InlineData(Id + "_1", false)]
    [InlineData("x" + Id, false)]
    [InlineData("prefix-" + Id + "-1", false)]
    [InlineData("659c7bce85f6381e675bb20", false)]
    public void TagBelongsTo_is_equality_or_id_dash_prefix_never_a_substring(string tag, bool expected) =>
        Assert.Equal(expected, ObjectId.TagBelongsTo(tag, Id));

    [Theory]
    [InlineData(Id + "-12", Id)]
    [InlineData("659C7BCE85F6381E675BB205", Id)]
    [InlineData(Id + "x", null)]
    [InlineData("latest", null)]
    [InlineData("zz9c7bce85f6381e675bb205-1", null)]
    public void FromTag_extracts_the_lower_case_prefix(string tag, string? expected) =>
        Assert.Equal(expected, ObjectId.FromTag(tag));
}
