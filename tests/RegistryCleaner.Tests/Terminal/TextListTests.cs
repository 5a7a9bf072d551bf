namespace RegistryCleaner.Tests.Terminal;

public sealed class TextListTests
{
    [Fact]
    public void Reads_as_its_items_joined_with_semicolons_and_splits_back()
    {
        TextList list = ["sha256:aa", "sha256:bb", "sha256:cc"];

        Assert.Equal("sha256:aa;sha256:bb;sha256:cc", list.ToString());
        Assert.Equal(list, TextList.Parse(list.ToString()));
        Assert.Equal(["a", "b"], TextList.Parse(" a ;; b ;"));
        Assert.Empty(TextList.Parse("  "));
        Assert.Equal(string.Empty, TextList.Empty.ToString());
    }

    [Fact]
    public void Is_a_read_only_list_compared_by_items()
    {
        TextList fromArray = new[] { "x", "y" };
        TextList fromList = new List<string> { "x", "y" };

        Assert.Equal(2, fromArray.Count);
        Assert.Equal("y", fromArray[1]);
        Assert.True(fromArray == fromList);
        Assert.Equal(fromArray.GetHashCode(), fromList.GetHashCode());
        Assert.False(fromArray == TextList.From(["y", "x"]));
        Assert.Same(fromArray, TextList.From(fromArray));
        Assert.Same(TextList.Empty, TextList.From(null));
    }
}
