using System.Text;
using CsCheck;

namespace Latch.Core.Tests.References;

/// <summary>Byte-level damage to a JSON text, for properties that must hold on almost-valid input.</summary>
internal static class Mutations
{
    /// <summary>One to four edits: (position, byte, kind) where kind 0 replaces, 1 inserts, 2 deletes, 3 truncates.</summary>
    public static readonly Gen<(int Position, byte Value, int Kind)[]> Edits = Gen.Select(Gen.Int[0, 100_000], Gen.Byte, Gen.Int[0, 3]).Array[1, 4];

    /// <summary>The UTF-8 of <paramref name="json"/> with <paramref name="edits"/> applied in order (positions wrap).</summary>
    public static byte[] Apply(string json, (int Position, byte Value, int Kind)[] edits)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(json));
        foreach (var (position, value, kind) in edits)
        {
            var at = position % (bytes.Count + 1);
            switch (kind)
            {
                case 0 when at < bytes.Count: bytes[at] = value; break;
                case 1: bytes.Insert(at, value); break;
                case 2 when at < bytes.Count: bytes.RemoveAt(at); break;
                case 3: bytes.RemoveRange(at, bytes.Count - at); break;
                default: break;
            }
        }

        return bytes.ToArray();
    }
}
