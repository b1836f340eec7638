using System.Diagnostics;
using System.Text.Json;
using Latch.Core.Access;
using Latch.Core.Audit;
using Latch.Core.Crypto;
using Latch.Core.Observability;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Storage.Postgres;
using Latch.Core.Storage.Sqlite;
using Latch.Core.Webhooks;
using Latch.Server.Access;
using Latch.Server.Audit;
using Latch.Core.Runtime;
using Latch.Server.Http;
using Latch.Server.Observability;
using Latch.Server.Runtime;
using Latch.Server.Secrets;
using Latch.Server.Webhooks;
using Latch.Server.Workbench;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Latch.Server;

/// <summary>Starts the Latch HTTP server.</summary>
public static class LatchServer
{
    /// <summary>Exit code when the master key is missing, malformed or does not open the store.</summary>
    public const int MasterKeyExitCode = 3;

    /// <summary>Exit code for other start-up failures.</summary>
    public const int StartupFailedExitCode = 2;

    /// <summary>Runs until cancelled; returns the process exit code (non-zero when start-up fails, e.g. a wrong master key).</summary>
    public static async Task<int> RunAsync(ServeOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        WebApplication app;
        try
        {
            app = await BuildAsync(options, console, cancellationToken);
        }
        catch (StartupException e)
        {
            await console.WriteLineAsync($"Error: {e.Message}");
            return e.ExitCode;
        }

        await using (app)
        {
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                await console.WriteLineAsync($"Error: cannot listen on {options.Urls}: {e.Message}");
                return StartupFailedExitCode;
            }

            var url = ListeningAddress(app);
            await console.WriteLineAsync($"Latch is listening on {url}");
            await console.WriteLineAsync($"  Workbench: {url}/   API: {url}/v1   OpenAPI: {url}/openapi/v1.json   Metrics: {url}/metrics");
            await console.WriteLineAsync(app.Services.GetRequiredService<StartupNotes>().KeyHint);
            await console.WriteLineAsync("Press Ctrl+C to stop.");
            // Ends on cancellation or when the host is asked to stop (SIGTERM, SIGINT).
            await app.WaitForShutdownAsync(cancellationToken);
        }

        return 0;
    }

    /// <summary>Starts a server in-process (tests, tools) and returns once it listens.</summary>
    public static async Task<RunningLatch> StartAsync(ServeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var app = await BuildAsync(options, TextWriter.Null, cancellationToken);
        await app.StartAsync(cancellationToken);
        return new RunningLatch(new Uri(ListeningAddress(app) + "/"), async () =>
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        });
    }

    private static string ListeningAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return (addresses?.FirstOrDefault() ?? app.Urls.First()).TrimEnd('/');
    }

    internal static async Task<WebApplication> BuildAsync(ServeOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        var time = options.TimeProvider ?? TimeProvider.System;
        // Before anything is opened: a bad egress rule is a start-up error that leaves nothing to clean up.
        var egressPolicy = BuildEgressPolicy(options);
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var notes = new StartupNotes();
        var master = await LoadAndVerifyMasterKeyAsync(options, dataDirectory, console, cancellationToken);
        // With SQLite this process is the only writer, so every change is heard; with PostgreSQL the feed turns
        // coherent only once the LISTEN session is up (caches bypass themselves until then).
        var changes = new StoreChanges(coherent: options.Store == StoreKind.Sqlite);
        ILatchStore store;
        FileStream? dataDirectoryLock = null;
        try
        {
            if (options.Store == StoreKind.Sqlite)
            {
                dataDirectoryLock = LockDataDirectory(dataDirectory);
            }

            store = await OpenStoreAsync(options, dataDirectory, cancellationToken);
        }
        catch
        {
            dataDirectoryLock?.Dispose();
            master.Key.Dispose();
            throw;
        }

        var keyring = new Keyring(master.Key, store);
        try
        {
            await keyring.InitializeAsync(cancellationToken);
            var access = new AccessService(store, keyring, time);
            try
            {
                if (await access.BootstrapAsync(options.BootstrapKey, cancellationToken))
                {
                    notes.KeyHint = "Created workspace 'default' with an owner key equal to LATCH_BOOTSTRAP_KEY: use it as 'Authorization: Bearer <key>' (or LATCH_API_KEY for the CLI).";
                }
                else if (await store.CountApiKeysAsync(cancellationToken) == 0)
                {
                    notes.KeyHint = "No API keys yet: restart with LATCH_BOOTSTRAP_KEY set to a random value of 32+ characters to create workspace 'default' and its owner key.";
                }
                else
                {
                    notes.KeyHint = "Use an existing API key as 'Authorization: Bearer <key>' (owners create more with POST /v1/keys).";
                }
            }
            catch (BootstrapException e)
            {
                throw new StartupException(e.Message, StartupFailedExitCode);
            }
        }
        catch
        {
            keyring.Dispose();
            master.Key.Dispose();
            await store.DisposeAsync();
            dataDirectoryLock?.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(LatchServer).Assembly.GetName().Name });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        });
        builder.Logging.ClearProviders();
        if (options.ConfigureLogging is { } configureLogging)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.AddFilter("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogLevel.None);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Latch", LogLevel.Information);
            // Start-up failures (port in use) are reported once, as "Error: …", by RunAsync.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        }

        builder.Services.ConfigureHttpJsonOptions(o => LatchJson.Configure(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Latch API";
            document.Info.Description = "Secrets referenced as $Token{KEY}, resolved at the moment of use. Authenticate with 'Authorization: Bearer <api key>'.";
            return Task.CompletedTask;
        }));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(notes);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton<ILatchStore>(store);
        builder.Services.AddSingleton(changes);
        builder.Services.AddSingleton(keyring);
        builder.Services.AddSingleton(new JsonBody.Limits(options.MaxRequestBodyBytes));
        builder.Services.AddSingleton<AccessService>();
        builder.Services.AddLatchObservability();
        builder.Services.AddSingleton(s => new AuditWriter(store, telemetry: s.GetRequiredService<LatchTelemetry>()));
        builder.Services.AddSingleton<SecretService>();
        builder.Services.AddSingleton(new ResolutionEngine(time));
        builder.Services.AddSingleton<ResolutionService>();
        builder.Services.AddSingleton<WebhookService>();
        builder.Services.AddSingleton<RuntimeConfigService>();
        builder.Services.AddSingleton<ActionRunner>();
        builder.Services.AddSingleton(new AuthFailureLimiter(options));
        var egress = new EgressGuard(egressPolicy);
        builder.Services.AddSingleton(egress);
        builder.Services.AddHttpClient(ActionRunner.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // SSRF protection: every socket is opened by the egress guard, to an address the policy allows.
                ConnectCallback = egress.ConnectAsync,
                // A proxy would be the address connected to, and it would reach anything: actions go direct.
                UseProxy = false,
                // A redirect could carry resolved credentials to another host: never follow one.
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                // The upstream is a third party: Latch's trace context (latch.action.run) is not sent to it.
                ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            })
            // The default handlers log request URIs, whose query may hold resolved values.
            .RemoveAllLoggers();

        var app = builder.Build();
        var auditWriter = app.Services.GetRequiredService<AuditWriter>();
        PostgresChangeListener? listener = null;
        if (options.Store == StoreKind.Postgres)
        {
            listener = new PostgresChangeListener(options.Connection!, changes, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Latch.Storage"));
            await listener.StartAsync(cancellationToken);
        }

        // First, so the exception handler's and status-code pages' answers carry the headers too.
        app.UseSecurityHeaders();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = _ => StatusCodes.Status500InternalServerError,
            // The middleware would otherwise log the whole exception (message, inner exceptions); Latch logs the type only.
            SuppressDiagnosticsCallback = _ => true,
            ExceptionHandler = async context =>
            {
                var feature = context.Features.Get<IExceptionHandlerFeature>();
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Latch.Server");
                // The type and request id only: exception messages are not trusted to be free of request content.
                Log.UnhandledException(logger, feature?.Error.GetType().FullName ?? "unknown", context.TraceIdentifier);
                var result = feature?.Error is BadHttpRequestException bad
                    ? Problems.Of(bad.StatusCode, bad.StatusCode == 413 ? "payload_too_large" : "bad_request", "The request could not be read")
                    : Problems.Of(500, "internal_error", $"An unexpected error occurred (request id {context.TraceIdentifier})");
                await result.ExecuteAsync(context);
            },
        });
        app.UseStatusCodePages(async status =>
        {
            var context = status.HttpContext;
            if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.Request.Method == HttpMethods.Head)
            {
                return;
            }

            var code = context.Response.StatusCode switch
            {
                404 => "route_not_found",
                405 => "method_not_allowed",
                _ => "http_" + context.Response.StatusCode,
            };
            await Problems.Of(context.Response.StatusCode, code, $"No route answers {context.Request.Method} {context.Request.Path}").ExecuteAsync(context);
        });
        app.UseBodyLimit(options.MaxRequestBodyBytes);
        app.UseWorkbench();

        app.MapGet("/healthz", () => TypedResults.Ok(new StatusResponse("ok"))).ExcludeFromDescription();
        app.MapGet("/readyz", async (ILatchStore s, CancellationToken ct) =>
        {
            try
            {
                await s.CountApiKeysAsync(ct);
                return Results.Ok(new StatusResponse("ready"));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Problems.Of(503, "not_ready", "The data store is not reachable");
            }
        }).ExcludeFromDescription();
        app.MapOpenApi();
        app.MapLatchMetrics();

        var v1 = app.MapGroup("/v1").RequireApiKey();
        v1.MapAccess();
        v1.MapSecrets();
        v1.MapWebhooks();
        app.MapWebhookReceiver();
        v1.MapApps();
        v1.MapProducts();
        v1.MapActions();
        v1.MapVariables();
        v1.MapAudit();
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            listener?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            auditWriter.DisposeAsync().AsTask().GetAwaiter().GetResult();
            keyring.Dispose();
            master.Key.Dispose();
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            dataDirectoryLock?.Dispose();
        });
        return app;
    }

    /// <summary>
    /// Finds the master key and, for an existing store, proves it opens the store — through a read-only
    /// connection, before any migration or write, so a refusal to start changes nothing on disk.
    /// </summary>
    private static async Task<LoadedMasterKey> LoadAndVerifyMasterKeyAsync(ServeOptions options, string dataDirectory, TextWriter console, CancellationToken cancellationToken)
    {
        var storeExists = false;
        ILatchStore? readOnly = null;
        var storeName = options.Store == StoreKind.Postgres ? DescribePostgres(options.Connection) : dataDirectory;
        try
        {
            if (options.Store == StoreKind.Postgres)
            {
                if (string.IsNullOrWhiteSpace(options.Connection))
                {
                    throw new StartupException("--store postgres needs a connection string: pass --connection \"Host=…;Database=…;Username=…\" or set LATCH_CONNECTION.", StartupFailedExitCode);
                }

                if (string.IsNullOrWhiteSpace(options.MasterKey) && string.IsNullOrWhiteSpace(options.MasterKeyFile))
                {
                    // Every instance must hold the same key, and it must never live in the database it protects.
                    throw new StartupException(
                        "master key: with --store postgres the master key must be given to every instance: set LATCH_MASTER_KEY or pass --master-key-file " +
                        "(Latch never generates it for a shared database and never stores it there).", MasterKeyExitCode);
                }

                try
                {
                    readOnly = await PostgresStore.OpenForInspectionAsync(options.Connection, cancellationToken);
                }
                catch (Exception e) when (e is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
                {
                    throw new StartupException($"cannot open {storeName}: {e.Message}", StartupFailedExitCode);
                }

                storeExists = readOnly is not null;
            }
            else if (File.Exists(SqliteStore.DatabasePath(dataDirectory)))
            {
                var sqlite = SqliteStore.OpenForInspection(dataDirectory);
                readOnly = sqlite;
                storeExists = await sqlite.HasSchemaAsync(cancellationToken);
            }

            LoadedMasterKey master;
            try
            {
                master = MasterKeySource.Load(options.MasterKey, options.MasterKeyFile, dataDirectory, storeExists);
            }
            catch (MasterKeyFormatException e)
            {
                throw new StartupException($"master key: {e.Message}", MasterKeyExitCode);
            }

            if (master.Generated)
            {
                await console.WriteLineAsync(
                    $"Warning: generated a new master key at {master.Source} (mode 0600). Back it up: without it nothing in {dataDirectory} can be decrypted. " +
                    "In production pass LATCH_MASTER_KEY or --master-key-file instead.");
            }

            if (storeExists)
            {
                using var check = new Keyring(master.Key, readOnly!);
                try
                {
                    await check.VerifyAsync(cancellationToken);
                }
                catch (MasterKeyMismatchException)
                {
                    master.Key.Dispose();
                    throw new StartupException(
                        $"the master key from {master.Source} does not open the store in {storeName}. " +
                        "Refusing to start; nothing was changed. Use the master key this store was created with.", MasterKeyExitCode);
                }
            }

            return master;
        }
        finally
        {
            if (readOnly is not null)
            {
                await readOnly.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The SQLite store serves one process: its caches trust that every change goes through this process. An exclusive
    /// lock on <c>DATA/latch.lock</c> (released by the OS even on kill -9) makes a second <c>latch serve</c> on the same
    /// directory refuse to start instead of serving stale values.
    /// </summary>
    private static FileStream LockDataDirectory(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "latch.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new StartupException(
                $"another latch serve is already using {dataDirectory} (it holds {path}). The embedded SQLite store serves one process; " +
                "run several instances with --store postgres.", StartupFailedExitCode);
        }
    }

    /// <summary>Opens (and migrates) the configured store.</summary>
    private static async Task<ILatchStore> OpenStoreAsync(ServeOptions options, string dataDirectory, CancellationToken cancellationToken)
    {
        if (options.Store == StoreKind.Postgres)
        {
            try
            {
                return await PostgresStore.OpenAsync(options.Connection!, cancellationToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
            {
                throw new StartupException($"cannot open {DescribePostgres(options.Connection)}: {e.Message}", StartupFailedExitCode);
            }
        }

        var sqlite = SqliteStore.Open(dataDirectory);
        try
        {
            await sqlite.MigrateAsync(null, cancellationToken);
        }
        catch
        {
            await sqlite.DisposeAsync();
            throw;
        }

        // Checkpoints off the commit path: the audit writer's group commits no longer pay for copying the log. Every
        // 50 ms keeps each checkpoint small: at 250 ms resolve p99 rose from 21 to 34 ms under load (bench/RESULTS.md).
        sqlite.StartBackgroundCheckpoints(TimeSpan.FromMilliseconds(50));
        return sqlite;
    }

    /// <summary>Names a PostgreSQL database for messages — host, port and database only, never the password.</summary>
    public static string DescribePostgres(string? connection)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection ?? string.Empty);
            return $"the PostgreSQL database '{builder.Database ?? builder.Username ?? "(default)"}' on {builder.Host ?? "localhost"}:{builder.Port}";
        }
        catch (ArgumentException)
        {
            return "the PostgreSQL database (unreadable connection string)";
        }
    }

    private static EgressPolicy BuildEgressPolicy(ServeOptions options)
    {
        try
        {
            return EgressPolicy.Create(options.EgressAllow, options.EgressDeny);
        }
        catch (FormatException e)
        {
            throw new StartupException($"egress rule: {e.Message}", StartupFailedExitCode);
        }
    }

    private sealed class StartupException : Exception
    {
        public StartupException(string message, int exitCode) : base(message) => ExitCode = exitCode;

        public int ExitCode { get; }
    }
}

internal sealed class StartupNotes
{
    public string KeyHint { get; set; } = "";
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled {ExceptionType} while serving request {RequestId}")]
    public static partial void UnhandledException(ILogger logger, string exceptionType, string requestId);
}

/// <summary>A server started in-process.</summary>
public sealed class RunningLatch : IAsyncDisposable
{
    private readonly Func<ValueTask> _stop;

    internal RunningLatch(Uri baseAddress, Func<ValueTask> stop)
    {
        BaseAddress = baseAddress;
        _stop = stop;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Stops the server.</summary>
    public ValueTask DisposeAsync() => _stop();
}
