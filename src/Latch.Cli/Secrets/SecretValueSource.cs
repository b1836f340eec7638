using System.Security.Cryptography;

namespace Latch.Cli.Secrets;

/// <summary>Where a new secret value comes from: typed, read from standard input, or generated.</summary>
internal enum ValueMode
{
    None,
    Given,
    Stdin,
    Generate,
}

/// <summary>Resolves <c>--value</c> / <c>--value-stdin</c> / <c>--generate</c> (at most one).</summary>
internal static class SecretValueSource
{
    /// <summary>Alphabet of values the CLI generates (the server's PATCH needs an explicit value).</summary>
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public const int GeneratedLength = 64;

    public static ValueMode Choose(string? value, bool fromStdin, bool generate)
    {
        var chosen = (value is not null ? 1 : 0) + (fromStdin ? 1 : 0) + (generate ? 1 : 0);
        if (chosen > 1)
        {
            throw new CliUsageException("--value, --value-stdin and --generate are mutually exclusive: give only one");
        }

        return value is not null ? ValueMode.Given
            : fromStdin ? ValueMode.Stdin
            : generate ? ValueMode.Generate
            : ValueMode.None;
    }

    /// <summary>Reads the value from standard input, dropping one trailing newline (what <c>echo</c> adds).</summary>
    public static string ReadStdin(TextReader input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var text = input.ReadToEnd();
        if (text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            text = text[..^2];
        }
        else if (text.EndsWith('\n'))
        {
            text = text[..^1];
        }

        return text.Length == 0 ? throw new CliUsageException("--value-stdin: standard input was empty") : text;
    }

    /// <summary>A 64-character value from [A-Za-z0-9], from a cryptographic RNG.</summary>
    public static string Generate() => RandomNumberGenerator.GetString(Alphabet, GeneratedLength);
}
