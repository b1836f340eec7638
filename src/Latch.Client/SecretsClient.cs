using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>The secrets API (<c>/v1/secrets</c>): create, list, fetch, update, rotate, revoke, delete, versions, usage, check and resolve.</summary>
public class SecretsClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected SecretsClient()
    {
    }

    internal SecretsClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Creates a secret. Without a value the server generates a 64-character one, returned once in <see cref="Secret.Value"/>.</summary>
    /// <param name="request">The key, value and policy.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new secret's metadata (and its generated value, if any).</returns>
    /// <exception cref="LatchException">409 <c>secret_exists</c>, 400 invalid input, …</exception>
    public virtual Task<Secret> CreateAsync(CreateSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Transport.SendAsync<Secret>(HttpMethod.Post, "v1/secrets", request, cancellationToken);
    }

    /// <summary>Lists secrets, following <c>next_cursor</c> until the last page.</summary>
    /// <param name="filter">Optional filters (app, environment, status, expiring within) and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>Every matching secret, ordered by key.</returns>
    public virtual async IAsyncEnumerable<Secret> ListAsync(SecretFilter? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var query = new Query()
                .Add("app", filter?.App)
                .Add("env", filter?.Env)
                .Add("status", filter?.Status?.ToString().ToLowerInvariant())
                .Add("expiring_within", filter?.ExpiringWithin is { } w ? (long)Math.Ceiling(w.TotalSeconds) : null)
                .Add("q", filter?.Search)
                .Add("limit", filter?.PageSize)
                .Add("cursor", cursor);
            var page = await Transport.SendAsync<Page<Secret>>(HttpMethod.Get, "v1/secrets" + query, null, cancellationToken);
            foreach (var secret in page.Items)
            {
                yield return secret;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>Fetches a secret's metadata; with <paramref name="reveal"/> also its value (owner/admin keys; audited as <c>secret.revealed</c>).</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="reveal">Whether to include the value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret.</returns>
    /// <exception cref="LatchException">404 <c>secret_not_found</c>; 403 when revealing is not allowed.</exception>
    public virtual Task<Secret> FetchAsync(string key, bool reveal = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Transport.SendAsync<Secret>(HttpMethod.Get, Path(key) + (reveal ? "?reveal=true" : ""), null, cancellationToken);
    }

    /// <summary>Whether a secret exists (<c>HEAD</c>).</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it exists.</returns>
    public virtual async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        using var response = await Transport.SendRawAsync(HttpMethod.Head, Path(key), null, cancellationToken, null, HttpStatusCode.NotFound);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>Updates a secret; a new value makes a new version (rotation).</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="update">The fields to change; unset ones are kept.</param>
    /// <param name="ifVersion">When set, the update applies only if the current version is this one (<c>If-Match</c>), else 412 <c>version_conflict</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The updated metadata.</returns>
    public virtual Task<Secret> UpdateAsync(string key, SecretUpdate update, int? ifVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(update);
        return Transport.SendAsync<Secret>(HttpMethod.Patch, Path(key), update.ToJson(), cancellationToken, request =>
        {
            if (ifVersion is { } version)
            {
                request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(
                    "\"" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\""));
            }
        });
    }

    /// <summary>Revokes a secret: kept, never resolvable until un-revoked or given a new value.</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The metadata, status <see cref="SecretStatus.Revoked"/>.</returns>
    public virtual Task<Secret> RevokeAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Transport.SendAsync<Secret>(HttpMethod.Post, Path(key) + "/revoke", null, cancellationToken);
    }

    /// <summary>Deletes a secret; later resolutions fail with <c>secret_not_found</c>.</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Transport.SendAsync(HttpMethod.Delete, Path(key), null, cancellationToken);
    }

    /// <summary>Lists a secret's versions (no values).</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The versions.</returns>
    public virtual async Task<IReadOnlyList<SecretVersion>> VersionsAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return (await Transport.SendAsync<Page<SecretVersion>>(HttpMethod.Get, Path(key) + "/versions", null, cancellationToken)).Items;
    }

    /// <summary>Makes a new version holding an older version's value.</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="version">The version whose value to restore.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The metadata with the new version.</returns>
    public virtual Task<Secret> RollbackAsync(string key, int version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Transport.SendAsync<Secret>(HttpMethod.Post, Path(key) + "/rollback", new JsonObject { ["version"] = version }, cancellationToken);
    }

    /// <summary>Where a secret is referenced and who resolved it recently.</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The usage.</returns>
    public virtual Task<SecretUsage> UsageAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Transport.SendAsync<SecretUsage>(HttpMethod.Get, Path(key) + "/usage", null, cancellationToken);
    }

    /// <summary>Finds the references in any JSON value, and the malformed ones, with their paths. Nothing is looked up.</summary>
    /// <param name="value">Any JSON value, e.g. <c>JsonValue.Create("Bearer $Token{STRIPE_KEY}")</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The references found.</returns>
    public virtual Task<ValidationReport> ValidateAsync(JsonNode? value, CancellationToken cancellationToken = default) =>
        Transport.SendAsync<ValidationReport>(HttpMethod.Post, "v1/secrets/validate", new JsonObject { ["value"] = value?.DeepClone() }, cancellationToken);

    /// <summary>A dry run of resolution: for each reference whether it would resolve for that app and environment. No value is returned.</summary>
    /// <param name="document">The configuration document.</param>
    /// <param name="app">The app access tag (scope check).</param>
    /// <param name="env">The environment slug.</param>
    /// <param name="product">The product, for <c>product_tag:access_tag</c> scopes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One item per reference.</returns>
    public virtual Task<CheckReport> CheckAsync(JsonNode document, string app, string env, string? product = null, CancellationToken cancellationToken = default) =>
        Transport.SendAsync<CheckReport>(HttpMethod.Post, "v1/secrets/check", ResolutionBody(document, app, env, product), cancellationToken);

    /// <summary>Resolves every reference of a document (all or nothing), for a service loading its own configuration.</summary>
    /// <param name="document">The configuration document.</param>
    /// <param name="app">The app access tag.</param>
    /// <param name="env">The environment slug.</param>
    /// <param name="product">The product, for <c>product_tag:access_tag</c> scopes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The resolved document.</returns>
    /// <exception cref="LatchException">422 with <see cref="LatchException.ReferenceErrors"/> listing every failing reference.</exception>
    public virtual Task<ResolvedDocument> ResolveAsync(JsonNode document, string app, string env, string? product = null, CancellationToken cancellationToken = default) =>
        Transport.SendAsync<ResolvedDocument>(HttpMethod.Post, "v1/secrets/resolve", ResolutionBody(document, app, env, product), cancellationToken);

    private static JsonObject ResolutionBody(JsonNode document, string app, string env, string? product)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentException.ThrowIfNullOrEmpty(app);
        ArgumentException.ThrowIfNullOrEmpty(env);
        var body = new JsonObject { ["document"] = document.DeepClone(), ["app"] = app, ["env"] = env };
        if (product is not null)
        {
            body["product"] = product;
        }

        return body;
    }

    private static string Path(string key) => "v1/secrets/" + LatchTransport.Escape(key);
}

/// <summary>A secret's state.</summary>
public enum SecretStatus
{
    /// <summary>Resolvable.</summary>
    Active,

    /// <summary>Past its <c>expires_at</c>.</summary>
    Expired,

    /// <summary>Revoked.</summary>
    Revoked,
}

/// <summary>A secret's metadata; <see cref="Value"/> only when revealed or just generated.</summary>
/// <param name="Key">The key, e.g. <c>STRIPE_KEY</c>.</param>
/// <param name="Description">A description.</param>
/// <param name="TokenType">A free-form type, e.g. <c>api_key</c>.</param>
/// <param name="Scope">Apps (<c>access_tag</c> or <c>product:access_tag</c>) that may use it; empty means every app.</param>
/// <param name="Envs">Environments where it resolves; empty means every one.</param>
/// <param name="ExpiresAt">When it expires (whole seconds), or null.</param>
/// <param name="Status">Active, expired or revoked.</param>
/// <param name="ExpiringSoon">Whether it expires within the server's warning window.</param>
/// <param name="Version">The current version.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="LastUsedAt">When it was last resolved, to the minute (a use within a minute of the stamp does not move it; the audit log has every use).</param>
/// <param name="Reference">The reference text, <c>$Token{KEY}</c>.</param>
/// <param name="Value">The value, when revealed or generated; prints as <c>***</c>.</param>
public sealed record Secret(
    string Key,
    string? Description,
    string? TokenType,
    IReadOnlyList<string> Scope,
    IReadOnlyList<string> Envs,
    [property: JsonConverter(typeof(UnixSecondsConverter))] DateTimeOffset? ExpiresAt,
    SecretStatus Status,
    bool ExpiringSoon,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastUsedAt,
    string Reference,
    SecretValue? Value = null);

/// <summary>What <see cref="SecretsClient.CreateAsync"/> sends.</summary>
/// <param name="Key">The key: letters, digits and <c>_</c>, up to 50 characters.</param>
public sealed record CreateSecretRequest(string Key)
{
    /// <summary>The value; null asks the server to generate one.</summary>
    public SecretValue? Value { get; init; }

    /// <summary>A description.</summary>
    public string? Description { get; init; }

    /// <summary>A free-form type, e.g. <c>api_key</c>.</summary>
    public string? TokenType { get; init; }

    /// <summary>Apps that may use it; null or empty means every app.</summary>
    public IReadOnlyList<string>? Scope { get; init; }

    /// <summary>Environments where it resolves; null or empty means every one.</summary>
    public IReadOnlyList<string>? Envs { get; init; }

    /// <summary>When it expires (sent as Unix seconds).</summary>
    [JsonConverter(typeof(UnixSecondsConverter))]
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>What <see cref="SecretsClient.UpdateAsync"/> changes; properties left null are kept as they are.</summary>
public sealed record SecretUpdate
{
    /// <summary>A new value: makes a new version (rotation).</summary>
    public SecretValue? Value { get; init; }

    /// <summary>A new description.</summary>
    public string? Description { get; init; }

    /// <summary>A new token type.</summary>
    public string? TokenType { get; init; }

    /// <summary>A new scope (empty: every app).</summary>
    public IReadOnlyList<string>? Scope { get; init; }

    /// <summary>New environments (empty: every one).</summary>
    public IReadOnlyList<string>? Envs { get; init; }

    /// <summary>A new expiry.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Removes the expiry (sends <c>expires_at: null</c>).</summary>
    public bool ClearExpiry { get; init; }

    /// <summary><see langword="true"/> revokes, <see langword="false"/> un-revokes.</summary>
    public bool? Revoked { get; init; }

    internal JsonObject ToJson()
    {
        var body = new JsonObject();
        if (Value is not null)
        {
            body["value"] = Value.Reveal();
        }

        if (Description is not null)
        {
            body["description"] = Description;
        }

        if (TokenType is not null)
        {
            body["token_type"] = TokenType;
        }

        if (Scope is not null)
        {
            body["scope"] = new JsonArray(Scope.Select(s => (JsonNode?)s).ToArray());
        }

        if (Envs is not null)
        {
            body["envs"] = new JsonArray(Envs.Select(s => (JsonNode?)s).ToArray());
        }

        if (ClearExpiry)
        {
            body["expires_at"] = null;
        }
        else if (ExpiresAt is { } expires)
        {
            body["expires_at"] = expires.ToUnixTimeSeconds();
        }

        if (Revoked is { } revoked)
        {
            body["revoked"] = revoked;
        }

        return body;
    }
}

/// <summary>Filters for <see cref="SecretsClient.ListAsync"/>.</summary>
public sealed record SecretFilter
{
    /// <summary>Only secrets this app may use (unrestricted ones match every app).</summary>
    public string? App { get; init; }

    /// <summary>Only secrets available in this environment.</summary>
    public string? Env { get; init; }

    /// <summary>Only secrets with this status.</summary>
    public SecretStatus? Status { get; init; }

    /// <summary>Only secrets expiring within this time.</summary>
    public TimeSpan? ExpiringWithin { get; init; }

    /// <summary>Only secrets whose key or description contains this text.</summary>
    public string? Search { get; init; }

    /// <summary>Secrets fetched per request (1–500; the server's default is 50).</summary>
    public int? PageSize { get; init; }
}

/// <summary>A version of a secret (no value).</summary>
/// <param name="Version">The version number.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="CreatedBy">The API key name that made it.</param>
public sealed record SecretVersion(int Version, DateTimeOffset CreatedAt, string? CreatedBy);

/// <summary>Where a secret is referenced and who used it.</summary>
/// <param name="Key">The secret key.</param>
/// <param name="References">Stored configurations that reference it.</param>
/// <param name="Recent">Recent resolutions, grouped.</param>
public sealed record SecretUsage(string Key, IReadOnlyList<SecretUsageReference> References, IReadOnlyList<SecretUsageRecent> Recent);

/// <summary>A stored configuration referencing a secret.</summary>
/// <param name="Product">The product.</param>
/// <param name="App">The app.</param>
/// <param name="Env">The product environment (null for every environment, e.g. a webhook).</param>
/// <param name="Path">The JSON path of the reference.</param>
/// <param name="Source">What holds it, e.g. a product app or a webhook.</param>
public sealed record SecretUsageReference(string Product, string App, string? Env, string Path, string Source);

/// <summary>Resolutions of a secret by (product, app, env, context).</summary>
/// <param name="Product">The product.</param>
/// <param name="App">The app.</param>
/// <param name="Env">The environment.</param>
/// <param name="Context">The context, e.g. <c>action:stripe_app.create_charge</c> or <c>config</c>.</param>
/// <param name="Count">How many resolutions.</param>
/// <param name="LastUsedAt">The latest one.</param>
public sealed record SecretUsageRecent(string? Product, string? App, string? Env, string? Context, long Count, DateTimeOffset LastUsedAt);

/// <summary>A reference found in a document.</summary>
/// <param name="Path">Its JSON path.</param>
/// <param name="Key">The secret key.</param>
public sealed record FoundReference(string Path, string Key);

/// <summary>What <see cref="SecretsClient.ValidateAsync"/> found.</summary>
/// <param name="Ok">No malformed reference.</param>
/// <param name="References">Well-formed references.</param>
/// <param name="Malformed">Malformed ones (code <c>malformed_reference</c>).</param>
public sealed record ValidationReport(bool Ok, IReadOnlyList<FoundReference> References, IReadOnlyList<LatchReferenceError> Malformed);

/// <summary>One reference checked by <see cref="SecretsClient.CheckAsync"/>.</summary>
/// <param name="Path">Its JSON path.</param>
/// <param name="Key">The secret key (null when malformed).</param>
/// <param name="Ok">Whether it would resolve.</param>
/// <param name="Code">Why not, e.g. <c>secret_env_denied</c>.</param>
/// <param name="Message">The message.</param>
public sealed record CheckedReference(string Path, string? Key, bool Ok, string? Code, string? Message);

/// <summary>What <see cref="SecretsClient.CheckAsync"/> answers.</summary>
/// <param name="Ok">Every reference would resolve.</param>
/// <param name="References">One item per reference.</param>
public sealed record CheckReport(bool Ok, IReadOnlyList<CheckedReference> References);

/// <summary>A resolved reference: which version was used.</summary>
/// <param name="Path">Its JSON path.</param>
/// <param name="Key">The secret key.</param>
/// <param name="Version">The version resolved.</param>
public sealed record ResolvedReference(string Path, string Key, int Version);

/// <summary>A document with every reference replaced by its value. <see cref="ToString"/> does not print the document.</summary>
public sealed class ResolvedDocument
{
    /// <summary>Creates a resolved document.</summary>
    /// <param name="document">The document, values substituted.</param>
    /// <param name="references">The references that were resolved.</param>
    [JsonConstructor]
    public ResolvedDocument(JsonNode? document, IReadOnlyList<ResolvedReference> references)
    {
        Document = document;
        References = references ?? [];
    }

    /// <summary>The document with values substituted: holds secret values, do not log it.</summary>
    public JsonNode? Document { get; }

    /// <summary>The references that were resolved.</summary>
    public IReadOnlyList<ResolvedReference> References { get; }

    /// <summary>A summary without values.</summary>
    /// <returns>The number of references resolved.</returns>
    public override string ToString() => $"ResolvedDocument {{ References = {References.Count} }}";
}
