using Latch.Core.References;

namespace Latch.Core.Tests.References;

/// <summary>Paths go into the audit log and error messages: they must be printable and storable by every store.</summary>
public sealed class JsonPathTests
{
    [Theory]
    [InlineData("name", "$.name")]
    [InlineData("with space", "$['with space']")]
    [InlineData("it's", "$['it\\'s']")]
    [InlineData("back\\slash", "$['back\\\\slash']")]
    [InlineData("nul\0here", "$['nul\\u0000here']")]
    [InlineData("line\r\nbreak", "$['line\\u000d\\u000abreak']")]
    [InlineData("del\u007f", "$['del\\u007f']")]
    [InlineData("emoji 😀 kept", "$['emoji 😀 kept']")]
    [InlineData("é", "$['é']")]
    public void Property_names_are_quoted_and_control_characters_and_unpaired_surrogates_escaped(string name, string expected) =>
        Assert.Equal(expected, JsonPath.AppendProperty("$", name));

    [Fact]
    public void Unpaired_surrogates_are_escaped()
    {
        // Built at run time: attribute arguments cannot carry lone surrogates intact.
        Assert.Equal("$['lone\\ud800']", JsonPath.AppendProperty("$", "lone" + (char)0xD800));
        Assert.Equal("$['\\udc00lone']", JsonPath.AppendProperty("$", (char)0xDC00 + "lone"));
        Assert.Equal("$['\\ud800" + "\ud83d\ude00" + "']", JsonPath.AppendProperty("$", new string([(char)0xD800, (char)0xD83D, (char)0xDE00])));
    }
}
