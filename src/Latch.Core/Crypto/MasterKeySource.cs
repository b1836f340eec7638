namespace Latch.Core.Crypto;

/// <summary>Where the master key came from, and whether it was just generated.</summary>
public sealed record LoadedMasterKey(LocalMasterKey Key, string Source, bool Generated);

/// <summary>
/// Finds the master key: <c>LATCH_MASTER_KEY</c> (passed in), else <c>--master-key-file</c>, else
/// <c>master.key</c> in the data directory — generated (mode 0600) only when the directory holds no store yet.
/// </summary>
public static class MasterKeySource
{
    /// <summary>File name of the generated key inside the data directory.</summary>
    public const string DefaultFileName = "master.key";

    /// <summary>Loads (or for a brand-new data directory, generates) the master key.</summary>
    public static LoadedMasterKey Load(string? base64FromEnvironment, string? keyFile, string dataDirectory, bool storeExists)
    {
        if (!string.IsNullOrWhiteSpace(base64FromEnvironment))
        {
            return new LoadedMasterKey(LocalMasterKey.FromBase64(base64FromEnvironment, "LATCH_MASTER_KEY"), "LATCH_MASTER_KEY", false);
        }

        if (!string.IsNullOrWhiteSpace(keyFile))
        {
            return new LoadedMasterKey(ReadFile(keyFile, "--master-key-file"), keyFile, false);
        }

        var defaultPath = Path.Combine(dataDirectory, DefaultFileName);
        if (File.Exists(defaultPath))
        {
            return new LoadedMasterKey(ReadFile(defaultPath, defaultPath), defaultPath, false);
        }

        if (storeExists)
        {
            throw new MasterKeyFormatException(
                $"No master key: the data directory holds a store but no {DefaultFileName}; set LATCH_MASTER_KEY or pass --master-key-file.");
        }

        Directory.CreateDirectory(dataDirectory);
        var generated = LocalMasterKey.GenerateBase64();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(defaultPath, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(generated);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        return new LoadedMasterKey(LocalMasterKey.FromBase64(generated, defaultPath), defaultPath, true);
    }

    private static LocalMasterKey ReadFile(string path, string source)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyFormatException($"Cannot read the master key file {source}: {e.GetType().Name}.");
        }

        return LocalMasterKey.FromBase64(text, source);
    }
}
