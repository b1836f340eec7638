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
    [InlineData("lone\ud800", "$['lone\\ud800']")]
    [InlineData("\udc00lone", "$['\\udc00lone']")]
    [InlineData("emoji 😀 kept", "$['emoji 😀 kept']")]
    [InlineData("é", "$['é']")]
    public void Property_names_are_quoted_and_control_characters_and_unpaired_surrogates_escaped(string name, string expected) =>
        Assert.Equal(expected, JsonPath.AppendProperty("$", name));
}
