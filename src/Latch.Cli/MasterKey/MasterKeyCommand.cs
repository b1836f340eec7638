using System.CommandLine;
using System.Text.Json.Nodes;
using Latch.Cli.Output;
using Latch.Cli.Serve;
using Latch.Core.Crypto;
using Latch.Core.Storage;
using Latch.Core.Storage.Postgres;
using Latch.Core.Storage.Sqlite;
using Latch.Server;

namespace Latch.Cli.MasterKey;

/// <summary>
/// <c>latch master-key rotate</c>: re-wraps every workspace data key and the check value under a new master key in one
/// transaction, with the server stopped. Values are not re-encrypted.
/// </summary>
internal static class MasterKeyCommand
{
    public const string Actor = "latch master-key rotate";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var command = new Command("master-key", "Manage the master key that wraps each workspace's data key (run with the server stopped)");
        command.Subcommands.Add(RotateCommand(env, global));
        return command;
    }

    private static Command RotateCommand(CliEnvironment env, GlobalOptions global)
    {
        var data = new Option<string?>("--data") { Description = $"Data directory (default: $LATCH_DATA or {ServeCommand.DefaultData})" };
        var newKeyFile = new Option<string>("--new-key-file")
        {
            Description = "File holding the new master key, base64 of 32 bytes (e.g. 'openssl rand -base64 32 > new.key')",
            Required = true,
        };
        var oldKeyFile = new Option<string?>("--master-key-file")
        {
            Description = "File holding the current (old) master key (default: $LATCH_MASTER_KEY, else DATA/master.key)",
        };
        var store = new Option<string?>("--store") { Description = "sqlite (default) or postgres (default: $LATCH_STORE)" };
        var connection = new Option<string?>("--connection") { Description = "Npgsql connection string with --store postgres (default: $LATCH_CONNECTION)" };
        var command = new Command("rotate",
            "Re-wrap every workspace data key under a new master key in one transaction (stop 'latch serve' first; values are not re-encrypted)")
        {
            data, newKeyFile, oldKeyFile, store, connection,
        };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var dataDirectory = Path.GetFullPath(parse.GetValue(data) ?? context.Env.Variable("LATCH_DATA") ?? ServeCommand.DefaultData);
            var oldFile = parse.GetValue(oldKeyFile);
            var oldFromEnvironment = oldFile is null ? context.Env.Variable("LATCH_MASTER_KEY") : null;
            var kind = ServeCommand.ParseStore(parse.GetValue(store) ?? context.Env.Variable("LATCH_STORE"));
            if (kind == StoreKind.Postgres)
            {
                var connectionString = parse.GetValue(connection) ?? context.Env.Variable("LATCH_CONNECTION");
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new CliUsageException("--store postgres needs --connection (or LATCH_CONNECTION)");
                }

                return await RotatePostgresAsync(context, connectionString, parse.GetRequiredValue(newKeyFile), oldFile, oldFromEnvironment);
            }

            return await RotateAsync(context, dataDirectory, parse.GetRequiredValue(newKeyFile), oldFile, oldFromEnvironment);
        }));
        return command;
    }

    /// <summary>
    /// PostgreSQL: the rotation is one compare-and-swap transaction; running instances keep working (their unwrapped data
    /// keys do not change) but must be given the new key before their next start.
    /// </summary>
    private static async Task<int> RotatePostgresAsync(CommandContext context, string connectionString, string newKeyFile, string? oldKeyFile, string? oldKeyFromEnvironment)
    {
        var output = context.Env.Out;
        var cancellationToken = context.CancellationToken;
        var where = LatchServer.DescribePostgres(connectionString);
        if (string.IsNullOrWhiteSpace(oldKeyFromEnvironment) && string.IsNullOrWhiteSpace(oldKeyFile))
        {
            return await FailAsync(context, "master key: set LATCH_MASTER_KEY or pass --master-key-file with the current key. Nothing was changed.");
        }

        LoadedMasterKey old;
        LocalMasterKey next;
        try
        {
            old = MasterKeySource.Load(oldKeyFromEnvironment, oldKeyFile, Path.GetTempPath(), storeExists: true);
            next = LocalMasterKey.FromBase64(ReadKeyText(newKeyFile), newKeyFile);
        }
        catch (MasterKeyFormatException e)
        {
            return await FailAsync(context, $"master key: {e.Message} Nothing was changed.");
        }

        using (old.Key)
        using (next)
        {
            var (result, exit) = await RunRotationAsync(context, async () =>
            {
                await using (var inspection = await PostgresStore.OpenForInspectionAsync(connectionString, cancellationToken))
                {
                    if (inspection is null)
                    {
                        throw new CliFailureException($"{where} holds no Latch store yet: there is nothing to rotate");
                    }
                }

                await using var store = await PostgresStore.OpenAsync(connectionString, cancellationToken);
                return await MasterKeyRotation.RotateAsync(store, old.Key, next, context.Env.Time, Actor, cancellationToken);
            }, $"old key from {old.Source}, store: {where}", $"Stop every latch serve instance on {where} first. ");
            if (result is null)
            {
                return exit;
            }

            if (context.Json)
            {
                await output.WriteLineAsync(Json.Format(new JsonObject { ["rotated_workspaces"] = result.WorkspaceCount, ["key_file_replaced"] = null }));
            }
            else
            {
                await output.WriteLineAsync(
                    $"Rotated the master key of {where}: re-wrapped {result.DataKeyCount} data key(s) of {result.WorkspaceCount} workspace(s) and the check value in one transaction. No value was re-encrypted.");
                await output.WriteLineAsync($"Give every instance the key in {newKeyFile} (LATCH_MASTER_KEY or --master-key-file) before it next starts: the old key no longer opens this store.");
            }

            return ExitCodes.Success;
        }
    }

    private static async Task<int> RotateAsync(CommandContext context, string dataDirectory, string newKeyFile, string? oldKeyFile, string? oldKeyFromEnvironment)
    {
        var output = context.Env.Out;
        var cancellationToken = context.CancellationToken;
        if (!File.Exists(SqliteStore.DatabasePath(dataDirectory)))
        {
            // Checked before the keys, so a mistyped --data is not reported as a missing master key.
            throw new CliFailureException($"no Latch store in {dataDirectory} (expected {SqliteStore.DatabasePath(dataDirectory)}); nothing was changed");
        }

        LoadedMasterKey old;
        LocalMasterKey next;
        string nextText;
        try
        {
            // storeExists: true, so a missing key is an error and never a freshly generated one.
            old = MasterKeySource.Load(oldKeyFromEnvironment, oldKeyFile, dataDirectory, storeExists: true);
            nextText = ReadKeyText(newKeyFile);
            next = LocalMasterKey.FromBase64(nextText, newKeyFile);
        }
        catch (MasterKeyFormatException e)
        {
            return await FailAsync(context, $"master key: {e.Message} Nothing was changed.");
        }

        using (old.Key)
        using (next)
        {
            var (result, exit) = await RunRotationAsync(context,
                () => MasterKeyRotation.RotateSqliteAsync(dataDirectory, old.Key, next, context.Env.Time, Actor, cancellationToken),
                $"old key from {old.Source}, store in {dataDirectory}", "");
            if (result is null)
            {
                return exit;
            }

            var defaultKeyFile = Path.Combine(dataDirectory, MasterKeySource.DefaultFileName);
            var fromDefaultFile = old.Source != "LATCH_MASTER_KEY"
                && string.Equals(Path.GetFullPath(old.Source), defaultKeyFile, StringComparison.Ordinal);
            string? replaced = null;
            string? replaceError = null;
            if (fromDefaultFile)
            {
                try
                {
                    ReplaceKeyFile(defaultKeyFile, nextText.Trim());
                    replaced = defaultKeyFile;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    replaceError = e.Message;
                }
            }

            if (context.Json)
            {
                await output.WriteLineAsync(Json.Format(new JsonObject
                {
                    ["rotated_workspaces"] = result.WorkspaceCount,
                    ["key_file_replaced"] = replaced,
                }));
            }
            else
            {
                await output.WriteLineAsync(
                    $"Rotated the master key of {dataDirectory}: re-wrapped {result.WorkspaceCount} workspace data key(s) and the check value in one transaction. " +
                    "No value was re-encrypted.");
                await output.WriteLineAsync($"The old key (from {old.Source}) no longer opens this store; the key in {newKeyFile} does.");
                if (replaced is not null)
                {
                    await output.WriteLineAsync($"Replaced {replaced} with the new key (written atomically, mode 0600): 'latch serve --data {dataDirectory}' picks it up.");
                }
                else if (!fromDefaultFile)
                {
                    await output.WriteLineAsync(old.Source == "LATCH_MASTER_KEY"
                        ? $"Next: set LATCH_MASTER_KEY to the contents of {newKeyFile} wherever latch serve runs, then start it."
                        : $"Next: replace {old.Source} with {newKeyFile} (or point --master-key-file at it), then start latch serve.");
                }

                await output.WriteLineAsync("Keep a backup of the new key: without it nothing in this store can be decrypted.");
            }

            if (replaceError is not null)
            {
                throw new CliFailureException(
                    $"the store now uses the new key, but {defaultKeyFile} could not be replaced ({replaceError}). " +
                    $"Copy {newKeyFile} to {defaultKeyFile} (mode 0600) before starting latch serve.");
            }

            return ExitCodes.Success;
        }
    }

    private static string ReadKeyText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyFormatException($"Cannot read the new master key file {path}: {e.GetType().Name}.");
        }
    }

    /// <summary>Writes a temporary file (mode 0600) next to <paramref name="path"/>, flushes it to disk and renames it over the original.</summary>
    private static void ReplaceKeyFile(string path, string base64)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(base64);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Runs a rotation and turns its refusals into the CLI's errors (a wrong old key exits 3).</summary>
    private static async Task<(MasterKeyRotationResult? Result, int Exit)> RunRotationAsync(
        CommandContext context, Func<Task<MasterKeyRotationResult>> rotate, string where, string busyAdvice)
    {
        try
        {
            return (await rotate(), ExitCodes.Success);
        }
        catch (MasterKeyMismatchException e)
        {
            return (null, await FailAsync(context, $"{e.Message} ({where})"));
        }
        catch (MasterKeyRotationException e)
        {
            throw new CliFailureException(e.Message);
        }
        catch (StoreBusyException e)
        {
            throw new CliFailureException($"{e.Message} {busyAdvice}Nothing was changed.");
        }
        catch (Npgsql.NpgsqlException e)
        {
            throw new CliFailureException($"cannot reach the store: {e.Message}. Nothing was changed.");
        }
    }

    private static async Task<int> FailAsync(CommandContext context, string message)
    {
        await context.Env.Error.WriteLineAsync($"Error: {message}");
        return LatchServer.MasterKeyExitCode;
    }
}
