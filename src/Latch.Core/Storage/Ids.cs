using System.Security.Cryptography;

namespace Latch.Core.Storage;

/// <summary>Random identifiers.</summary>
public static class Ids
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary><paramref name="prefix"/> + 20 random lowercase alphanumerics.</summary>
    public static string New(string prefix) => prefix + RandomNumberGenerator.GetString(Alphabet, 20);
}
