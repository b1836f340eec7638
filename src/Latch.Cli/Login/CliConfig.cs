using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Cli.Login;

/// <summary>What <c>latch login</c> saved: a server URL and an API key for it.</summary>
internal sealed record SavedLogin(string Url, string ApiKey)
{
    /// <summary>Never the key.</summary>
    public override string ToString() => $"{Url} (API key saved)";
}

/// <summary>
/// The user's <c>config.json</c> (<c>$XDG_CONFIG_HOME/latch</c> or <c>~/.config/latch</c>): <c>{url, api_key}</c>, in a
/// directory only the user can enter (0700), readable only by the user (0600), replaced atomically (temp file + rename).
/// </summary>
internal static class CliConfig
{
    public const string FileName = "config.json";

    private const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The config file's path; null when there is no config directory (no home directory).</summary>
    public static string? PathOf(CliEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return env.ResolveConfigDirectory() is { } directory ? Path.Combine(directory, FileName) : null;
    }

    /// <summary>The saved login, or null when there is none. A file that cannot be read or understood is a failure.</summary>
    public static SavedLogin? Load(CliEnvironment env)
    {
        if (PathOf(env) is not { } path || !File.Exists(path))
        {
            return null;
        }

        JsonObject? config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliFailureException($"cannot read {path}: {ex.Message}", ex);
        }
        catch (JsonException ex)
        {
            throw new CliFailureException($"{path} is not valid JSON: run 'latch login' again or delete it", ex);
        }

        var url = Text(config, "url");
        var key = Text(config, "api_key");
        return url is null || key is null
            ? throw new CliFailureException($"{path} lacks 'url' or 'api_key': run 'latch login' again or delete it")
            : new SavedLogin(url, key);
    }

    /// <summary>Writes the login (0600, atomically) and returns the path.</summary>
    public static string Save(CliEnvironment env, SavedLogin login)
    {
        ArgumentNullException.ThrowIfNull(login);
        var path = PathOf(env) ?? throw new CliFailureException("no config directory: set XDG_CONFIG_HOME or HOME");
        var directory = Path.GetDirectoryName(path)!;
        var json = new JsonObject { ["url"] = login.Url, ["api_key"] = login.ApiKey }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var temp = Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, PrivateDirectoryMode);
                File.SetUnixFileMode(directory, PrivateDirectoryMode);
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                // Created 0600: the key is never readable by others, not even for a moment.
                options.UnixCreateMode = PrivateFileMode;
            }

            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(json);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CliFailureException($"cannot write {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Removes the saved login; returns its path, or null when there was none.</summary>
    public static string? Remove(CliEnvironment env)
    {
        if (PathOf(env) is not { } path || !File.Exists(path))
        {
            return null;
        }

        try
        {
            File.Delete(path);
            return path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliFailureException($"cannot remove {path}: {ex.Message}", ex);
        }
    }

    /// <summary>URLs compared as the CLI uses them: absolute, with a trailing slash.</summary>
    public static bool SameUrl(string a, string b) =>
        Uri.TryCreate(a.EndsWith('/') ? a : a + "/", UriKind.Absolute, out var left)
        && Uri.TryCreate(b.EndsWith('/') ? b : b + "/", UriKind.Absolute, out var right)
        && Uri.Compare(left, right, UriComponents.AbsoluteUri, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temp file holds nothing but what was about to be saved, and only the user can read it.
        }
    }

    private static string? Text(JsonObject? obj, string name) =>
        obj?[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;
}
