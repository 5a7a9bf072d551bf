using RegistryCleaner.Planning;

namespace RegistryCleaner.Tests.Planning;

public class DominoTagVersionTests
{
    private const string Id = "659c7bce85f6381e675bb205";

    [Theory]
    [InlineData(Id + "-12", DominoTagKind.EnvironmentRevision)]
    [InlineData(Id + "-v1-202419163323_HfGeD8Ia", DominoTagKind.ModelVersion)]
    [InlineData(Id + "-v1.2-202419163323_HfGeD8Ia", DominoTagKind.ModelVersion)]
    [InlineData(Id, DominoTagKind.Other)]
    [InlineData(Id + "-", DominoTagKind.Other)]
    [InlineData(Id + "-12a", DominoTagKind.Other)]
    [InlineData(Id + "-v1-2024_", DominoTagKind.Other)]
    [InlineData(Id + "-vx-2024_HfGeD8Ia", DominoTagKind.Other)]
    [InlineData("latest", DominoTagKind.Other)]
    public void Parses_the_kind(string tag, DominoTagKind kind) => Assert.Equal(kind, DominoTagVersion.Parse(tag).Kind);

    [Theory]
    [InlineData(Id + "-2", Id + "-10")]
    [InlineData(Id + "-09", Id + "-10")]
    [InlineData(Id + "-99999999999999999999998", Id + "-99999999999999999999999")]
    [InlineData(Id + "-v9-202501010000_AAAAAAAA", Id + "-v10-202301010000_AAAAAAAA")]
    [InlineData(Id + "-v10-202301010000_ZZZZZZZZ", Id + "-v10-202302010000_AAAAAAAA")]
    [InlineData(Id + "-v1.9-202301010000_AAAAAAAA", Id + "-v1.10-202301010000_AAAAAAAA")]
    public void Orders_older_before_newer(string older, string newer) =>
        Assert.True(DominoTagVersion.Parse(older).CompareTo(DominoTagVersion.Parse(newer)) < 0);
}
