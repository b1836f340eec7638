namespace Latch.Server;

/// <summary>Everything <c>latch serve</c> can be told. Environment variables are read by the CLI, not here.</summary>
public sealed record ServeOptions
{
    /// <summary>Listen addresses, e.g. <c>http://127.0.0.1:5080</c>. Port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";

    /// <summary>Data directory holding <c>latch.db</c> (and a generated <c>master.key</c> if none was given).</summary>
    public string DataDirectory { get; init; } = "./latch-data";

    /// <summary>Which database holds the store: the embedded SQLite default, or a shared PostgreSQL (<c>--store</c>, <c>LATCH_STORE</c>).</summary>
    public StoreKind Store { get; init; } = StoreKind.Sqlite;

    /// <summary>Npgsql connection string when <see cref="Store"/> is PostgreSQL (<c>--connection</c>, <c>LATCH_CONNECTION</c>).</summary>
    public string? Connection { get; init; }

    /// <summary>Base64 of 32 bytes (<c>LATCH_MASTER_KEY</c>).</summary>
    public string? MasterKey { get; init; }

    /// <summary>Path of a file holding the master key (base64 of 32 bytes).</summary>
    public string? MasterKeyFile { get; init; }

    /// <summary>Bootstrap owner key (<c>LATCH_BOOTSTRAP_KEY</c>, 32+ characters) used when the store has no keys.</summary>
    public string? BootstrapKey { get; init; }

    /// <summary>Largest accepted request body in bytes (413 above).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Whether <c>?reveal=true</c> is allowed at all.</summary>
    public bool RevealEnabled { get; init; } = true;

    /// <summary>Default of <see cref="ExpiryWarning"/>: seven days.</summary>
    public static readonly TimeSpan DefaultExpiryWarning = TimeSpan.FromDays(7);

    /// <summary>
    /// Secrets that are neither revoked nor expired and expire within this window are flagged <c>expiring_soon</c>
    /// in API responses (<c>LATCH_EXPIRY_WARNING</c>, <c>latch serve --expiry-warning</c>).
    /// </summary>
    public TimeSpan ExpiryWarning { get; init; } = DefaultExpiryWarning;

    /// <summary>How long <c>actions.run</c> waits for an upstream (504 after).</summary>
    public TimeSpan ActionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Egress rules that allow addresses <c>actions.run</c> may connect to (<c>--egress-allow</c>, <c>LATCH_EGRESS_ALLOW</c>):
    /// CIDR blocks, single addresses, or <c>loopback</c>, <c>private</c>, <c>link-local</c>, <c>all</c>. Private and
    /// special-purpose ranges are denied unless allowed here; see <see cref="Latch.Core.Runtime.EgressPolicy"/>.
    /// </summary>
    public IReadOnlyList<string> EgressAllow { get; init; } = [];

    /// <summary>Egress rules that deny addresses (<c>--egress-deny</c>, <c>LATCH_EGRESS_DENY</c>); same syntax as <see cref="EgressAllow"/>.</summary>
    public IReadOnlyList<string> EgressDeny { get; init; } = [];

    /// <summary>
    /// Failed authentications (missing, unknown, revoked or expired API key) one client address may have within
    /// <see cref="AuthFailureWindow"/> before its requests are answered 429 <c>rate_limited</c>. 0 turns the limit off.
    /// </summary>
    public int AuthFailureLimit { get; init; } = 20;

    /// <summary>The window of <see cref="AuthFailureLimit"/> (default one minute).</summary>
    public TimeSpan AuthFailureWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many client addresses the failure limiter tracks at most (memory bound; the oldest are forgotten first).</summary>
    public int AuthFailureTrackedAddresses { get; init; } = 10_000;

    /// <summary>Clock (tests pass a fake one). Defaults to the system clock.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// The record's generated <c>ToString</c> would print every property: the master key, the bootstrap key and the
    /// connection string (with its password) are left out, so an options object can never leak them into a log.
    /// </summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Urls = ").Append(Urls).Append(", DataDirectory = ").Append(DataDirectory).Append(", Store = ").Append(Store)
            .Append(", MasterKey = ").Append(MasterKey is null ? "null" : "***")
            .Append(", MasterKeyFile = ").Append(MasterKeyFile)
            .Append(", BootstrapKey = ").Append(BootstrapKey is null ? "null" : "***")
            .Append(", Connection = ").Append(Connection is null ? "null" : "***");
        return true;
    }

    /// <summary>Replaces the default console logging (tests capture every line here).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}

/// <summary>The database behind a Latch server.</summary>
public enum StoreKind
{
    /// <summary>SQLite in the data directory (one server process).</summary>
    Sqlite,
    /// <summary>A shared PostgreSQL database (several server instances).</summary>
    Postgres,
}
