using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Core;
using Latch.Core.Observability;
using Latch.Core.References;
using Latch.Core.Runtime;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Server.Runtime;

/// <summary>A validated <c>actions.run</c> request.</summary>
internal sealed record ActionRunRequest(string Env, string Product, string App, string Event, string? AuthTag, int Retries, ActionInput Input);

/// <summary>What <c>actions.run</c> answers: the upstream's status, headers and body, masked.</summary>
internal sealed record ActionRunResponse(int Status, IReadOnlyDictionary<string, string> Headers, JsonNode? Body, string? BodyBase64, long DurationMs, string RequestId);

/// <summary>
/// <c>actions.run</c>: product → environment → product app → app environment; builds the request; resolves every
/// reference (all or nothing, audited before anything is sent); sends it; masks every resolved value in the answer.
/// </summary>
internal sealed class ActionRunner
{
    public const string HttpClientName = "latch-upstream";
    private const int MaxResponseBytes = 10 * 1024 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private static readonly HashSet<string> IdempotentMethods = new(StringComparer.Ordinal) { "GET", "HEAD", "PUT", "DELETE", "OPTIONS" };
    private readonly RuntimeConfigService _configs;
    private readonly ResolutionService _resolution;
    private readonly IHttpClientFactory _httpClients;
    private readonly ServeOptions _options;
    private readonly EgressGuard _egress;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _allowedHosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly LatchTelemetry? _telemetry;

    public ActionRunner(
        RuntimeConfigService configs, ResolutionService resolution, IHttpClientFactory httpClients, ServeOptions options, EgressGuard egress, LatchTelemetry? telemetry = null)
    {
        _telemetry = telemetry;
        _egress = egress;
        _configs = configs;
        _resolution = resolution;
        _httpClients = httpClients;
        _options = options;
    }

    public async Task<Result<ActionRunResponse>> RunAsync(string workspaceId, ActionRunRequest request, Actor actor, CancellationToken cancellationToken)
    {
        using var run = _telemetry?.StartActionRun(request.Product, request.Env, request.App, request.Event);
        var result = await RunCoreAsync(workspaceId, request, actor, run, cancellationToken);
        if (result.IsSuccess)
        {
            run?.Answered(result.Value!.Status);
        }
        else
        {
            run?.Failed(result.Error!.Code);
        }

        return result;
    }

    private async Task<Result<ActionRunResponse>> RunCoreAsync(
        string workspaceId, ActionRunRequest request, Actor actor, ActionRunTelemetry? run, CancellationToken cancellationToken)
    {
        var product = await _configs.GetProductAsync(workspaceId, request.Product, cancellationToken);
        if (!product.IsSuccess)
        {
            return product.Error!;
        }

        var productEnv = product.Value!.Envs.FirstOrDefault(e => e.Slug == request.Env);
        if (productEnv is null)
        {
            return new LatchError(ErrorKind.NotFound, "environment_not_found", $"Product '{request.Product}' has no environment '{request.Env}'");
        }

        if (!productEnv.Active)
        {
            return new LatchError(ErrorKind.Conflict, "environment_inactive", $"Environment '{request.Env}' of product '{request.Product}' is inactive; actions do not run there");
        }

        var config = await _configs.GetProductAppAsync(workspaceId, request.Product, request.App, cancellationToken);
        if (!config.IsSuccess)
        {
            return config.Error!;
        }

        var mapping = config.Value!.Envs.FirstOrDefault(e => e.ProductEnvSlug == request.Env);
        if (mapping is null)
        {
            return new LatchError(ErrorKind.NotFound, "environment_not_mapped", $"App '{request.App}' has no configuration for environment '{request.Env}' of product '{request.Product}'");
        }

        var app = await _configs.GetAppAsync(workspaceId, request.App, cancellationToken);
        if (!app.IsSuccess)
        {
            return app.Error!;
        }

        var action = (app.Value!.Actions ?? []).FirstOrDefault(a => a.Event == request.Event);
        if (action is null)
        {
            return new LatchError(ErrorKind.NotFound, "action_not_found", $"App '{request.App}' has no action '{request.Event}'");
        }

        var appEnv = app.Value.Envs.FirstOrDefault(e => e.Slug == mapping.AppEnvSlug)
            ?? throw new InvalidOperationException("A product app maps to an app environment that no longer exists.");
        var draft = ActionRequestBuilder.Build(app.Value, action, appEnv, mapping, request.AuthTag, request.Input);
        if (!draft.IsSuccess)
        {
            return draft.Error!;
        }

        // Refuse a denied upstream before any secret is decrypted or audited as resolved. This is an early answer only:
        // the connect callback judges the address actually connected to (DNS may answer differently by then).
        if (await EarlyEgressRefusalAsync(draft.Value!.BaseUrl, cancellationToken) is { } refused)
        {
            return refused;
        }

        var scanned = ReferenceScanner.Scan(draft.Value!.Document);
        var target = new ResolutionTarget(request.App, request.Env, request.Product);
        var resolved = await _resolution.ResolveAsync(workspaceId, scanned, target, $"action:{request.App}.{request.Event}", actor, cancellationToken);
        if (!resolved.IsSuccess)
        {
            return resolved.Error!;
        }

        var outcome = resolved.Value!;
        run?.Resolved(outcome.Resolved);
        using var document = JsonDocument.Parse(outcome.Document!);
        var prepared = Prepare(draft.Value, document.RootElement, outcome);
        if (!prepared.IsSuccess)
        {
            return prepared.Error!;
        }

        var masker = new Masker(outcome.Values);
        return await SendAsync(prepared.Value!, request.Retries, masker, actor.RequestId ?? "", cancellationToken);
    }

    private sealed record PreparedRequest(string Method, Uri Uri, List<KeyValuePair<string, string>> Headers, byte[]? Body, string? ContentType);

    private static Result<PreparedRequest> Prepare(ActionRequestDraft draft, JsonElement resolved, ResolutionOutcome outcome)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in resolved.GetProperty("params").EnumerateObject())
        {
            parameters.Add(p.Name, p.Value.GetString()!);
        }

        var query = new List<KeyValuePair<string, string>>();
        foreach (var q in resolved.GetProperty("query").EnumerateObject())
        {
            query.Add(KeyValuePair.Create(q.Name, q.Value.GetString()!));
        }

        var headers = new List<KeyValuePair<string, string>>();
        string? contentType = null;
        foreach (var header in resolved.GetProperty("headers").EnumerateObject())
        {
            var value = header.Value.GetString()!;
            if (value.Contains('\r', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
            {
                // Never put CR/LF in a header: it would split the request. Name the secret, not the value.
                var path = "$.headers." + header.Name;
                var keys = outcome.Resolved.Where(r => r.Path == path || r.Path == $"$.headers['{header.Name}']").Select(r => r.Key).Distinct().ToList();
                var message = keys.Count > 0
                    ? $"Secret '{keys[0]}' contains CR or LF and cannot be sent in header '{header.Name}'"
                    : $"Header '{header.Name}' contains CR or LF";
                return new LatchError(ErrorKind.Unresolvable, "invalid_header_value", message,
                    References: [new ReferenceError(path, keys.FirstOrDefault(), "invalid_header_value", message)]);
            }

            if (header.Name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value;
            }
            else
            {
                headers.Add(KeyValuePair.Create(header.Name, value));
            }
        }

        byte[]? body = null;
        if (resolved.TryGetProperty("body", out var bodyElement) && bodyElement.ValueKind != JsonValueKind.Null)
        {
            body = Encoding.UTF8.GetBytes(bodyElement.GetRawText());
            contentType ??= "application/json";
        }

        var uri = ActionRequestBuilder.BuildUri(draft.BaseUrl, draft.PathTemplate, parameters, query);
        return new PreparedRequest(draft.Method, uri, headers, body, contentType);
    }

    private async Task<Result<ActionRunResponse>> SendAsync(PreparedRequest prepared, int retries, Masker masker, string requestId, CancellationToken cancellationToken)
    {
        var client = _httpClients.CreateClient(HttpClientName);
        var attempts = IdempotentMethods.Contains(prepared.Method) ? 1 + retries : 1;
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Parse(prepared.Method), prepared.Uri);
            foreach (var (name, value) in prepared.Headers)
            {
                if (!message.Headers.TryAddWithoutValidation(name, value))
                {
                    return new LatchError(ErrorKind.Validation, "invalid_header", $"Header '{name}' cannot be sent on a request",
                        new Dictionary<string, string[]> { ["headers"] = [$"'{name}' is a content or connection header Latch sets itself"] });
                }
            }

            if (prepared.Body is not null)
            {
                message.Content = new ByteArrayContent(prepared.Body);
                message.Content.Headers.TryAddWithoutValidation("Content-Type", prepared.ContentType);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ActionTimeout);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new LatchError(ErrorKind.UpstreamTimeout, "upstream_timeout",
                    $"The upstream did not answer within {_options.ActionTimeout.TotalSeconds:0.###} s");
            }
            catch (HttpRequestException e) when (EgressGuard.Refusal(e) is { } denied)
            {
                return EgressDenied(denied);
            }
            catch (HttpRequestException e) when (attempt < attempts)
            {
                _ = e;
                await Task.Delay(Backoff(attempt), cancellationToken);
                continue;
            }
            catch (HttpRequestException e)
            {
                return new LatchError(ErrorKind.UpstreamUnreachable, "upstream_unreachable",
                    $"The upstream {prepared.Uri.GetLeftPart(UriPartial.Authority)} could not be reached ({e.HttpRequestError})");
            }

            using (response)
            {
                if ((int)response.StatusCode >= 500 && attempt < attempts)
                {
                    await Task.Delay(Backoff(attempt), cancellationToken);
                    continue;
                }

                ArraySegment<byte> bytes;
                try
                {
                    bytes = await ReadLimitedAsync(response.Content, timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return new LatchError(ErrorKind.UpstreamTimeout, "upstream_timeout", "The upstream did not finish its answer in time");
                }
                catch (InvalidDataException)
                {
                    return new LatchError(ErrorKind.UpstreamUnreachable, "upstream_response_too_large", $"The upstream answer is larger than {MaxResponseBytes} bytes");
                }

                var duration = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                return Mask(response, bytes, masker, duration, requestId);
            }
        }
    }

    private static ActionRunResponse Mask(HttpResponseMessage response, ArraySegment<byte> bytes, Masker masker, long duration, string requestId)
    {
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers)
        {
            headers[name] = masker.Apply(string.Join(", ", values));
        }

        foreach (var (name, values) in response.Content.Headers)
        {
            headers[name] = masker.Apply(string.Join(", ", values));
        }

        JsonNode? body = null;
        string? base64 = null;
        if (bytes.Count > 0)
        {
            string? text = null;
            try
            {
                text = StrictUtf8.GetString(bytes.AsSpan());
            }
            catch (DecoderFallbackException)
            {
                // Binary: masked on its base64 form, which is where an encoded value would show.
            }

            if (text is null)
            {
                base64 = masker.Apply(Convert.ToBase64String(bytes.AsSpan()));
            }
            else
            {
                var masked = masker.Apply(text);
                body = IsJson(response.Content.Headers.ContentType?.MediaType) ? TryParse(masked) ?? JsonValue.Create(masked) : JsonValue.Create(masked);
            }
        }

        return new ActionRunResponse((int)response.StatusCode, headers, body, base64, duration, requestId);
    }

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJson(string? mediaType) =>
        mediaType is not null && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>The upstream's body, read straight into one array (sized by Content-Length when there is one).</summary>
    private static async Task<ArraySegment<byte>> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        return await Http.BoundedRead.ReadAsync(stream, content.Headers.ContentLength, MaxResponseBytes, cancellationToken);
    }

    /// <summary>How long an allowed early verdict is reused (the connect-time check stays authoritative).</summary>
    private static readonly long EarlyVerdictMilliseconds = (long)TimeSpan.FromSeconds(30).TotalMilliseconds;

    private async Task<LatchError?> EarlyEgressRefusalAsync(string baseUrl, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri))
        {
            return null;
        }

        // The early check only spares resolution and audit for a base URL that would be refused; every new connection
        // is judged again by EgressGuard.ConnectAsync. So an allowed verdict is reused for a while instead of costing
        // a DNS lookup on every action run; refusals are never reused.
        var host = uri.IdnHost;
        if (_allowedHosts.TryGetValue(host, out var until) && Environment.TickCount64 < until)
        {
            return null;
        }

        try
        {
            await _egress.AllowedAddressesAsync(host, cancellationToken);
            if (_allowedHosts.Count >= 1024)
            {
                _allowedHosts.Clear();
            }

            _allowedHosts[host] = Environment.TickCount64 + EarlyVerdictMilliseconds;
            return null;
        }
        catch (EgressDeniedException denied) when (denied.Address is not null)
        {
            return EgressDenied(denied);
        }
        catch (Exception e) when (e is EgressDeniedException or System.Net.Sockets.SocketException or ArgumentException)
        {
            // Does not resolve: the send reports it as unreachable, as before.
            return null;
        }
    }

    private static LatchError EgressDenied(EgressDeniedException denied) =>
        new(ErrorKind.Forbidden, "egress_denied", denied.Message);

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt - 1));
}
