using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Client.Internal;

/// <summary>Sends requests to one Latch server with one API key and turns problems into <see cref="LatchException"/>.</summary>
internal sealed class LatchTransport : IDisposable
{
    private readonly Func<HttpClient> _client;
    private readonly HttpClient? _owned;
    private readonly Uri _base;
    private readonly AuthenticationHeaderValue _authorization;

    public LatchTransport(Func<HttpClient> client, Uri url, string apiKey, HttpClient? owned)
    {
        _client = client;
        _owned = owned;
        var text = url.AbsoluteUri;
        _base = new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute);
        _authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Uri BaseAddress => _base;

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, Action<HttpRequestMessage>? prepare = null)
    {
        using var response = await SendRawAsync(method, path, body, cancellationToken, prepare);
        try
        {
            var value = await response.Content.ReadFromJsonAsync<T>(LatchJson.Options, cancellationToken);
            return value ?? throw new LatchException(response.StatusCode, "invalid_response", $"Latch answered {method} {Redact(path)} with an empty body");
        }
        catch (JsonException e)
        {
            // The body is not quoted: it may hold values.
            throw new LatchException(response.StatusCode, "invalid_response", $"Latch answered {method} {Redact(path)} with JSON this SDK cannot read", innerException: e);
        }
    }

    public async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, body, cancellationToken, null);
    }

    /// <summary>Sends a request; a non-success answer throws, except the statuses the caller accepts.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(
        HttpMethod method, string path, object? body, CancellationToken cancellationToken, Action<HttpRequestMessage>? prepare, params HttpStatusCode[] accept)
    {
        using var request = new HttpRequestMessage(method, new Uri(_base, path));
        request.Headers.Authorization = _authorization;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is JsonNode node)
        {
            request.Content = JsonContent.Create(node, options: LatchJson.Options);
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: LatchJson.Options);
        }

        prepare?.Invoke(request);
        HttpResponseMessage response;
        try
        {
            response = await _client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new LatchException(0, "unreachable", $"Latch at {_base.GetLeftPart(UriPartial.Authority)} could not be reached ({e.HttpRequestError})", innerException: e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LatchException(0, "timeout", $"Latch at {_base.GetLeftPart(UriPartial.Authority)} did not answer {method} {Redact(path)} in time", innerException: e);
        }
        catch (Polly.Timeout.TimeoutRejectedException e)
        {
            throw new LatchException(0, "timeout", $"Latch at {_base.GetLeftPart(UriPartial.Authority)} did not answer {method} {Redact(path)} in time", innerException: e);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException e)
        {
            throw new LatchException(HttpStatusCode.ServiceUnavailable, "circuit_open", $"Calls to Latch at {_base.GetLeftPart(UriPartial.Authority)} are paused after repeated failures", innerException: e);
        }

        if (response.IsSuccessStatusCode || accept.Contains(response.StatusCode))
        {
            return response;
        }

        using (response)
        {
            throw await ProblemAsync(response, method, path, cancellationToken);
        }
    }

    private static string Redact(string path)
    {
        var query = path.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? path : path[..query];
    }

    private static async Task<LatchException> ProblemAsync(HttpResponseMessage response, HttpMethod method, string path, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var fallbackCode = "http_" + ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var fallback = $"Latch answered {method} {Redact(path)} with HTTP {(int)status} {response.ReasonPhrase}".TrimEnd();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || !mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return new LatchException(status, fallbackCode, fallback);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return new LatchException(status, fallbackCode, fallback);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new LatchException(status, fallbackCode, fallback);
            }

            var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : fallbackCode;
            var detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : fallback;
            Dictionary<string, IReadOnlyList<string>>? fields = null;
            List<LatchReferenceError>? references = null;
            if (root.TryGetProperty("errors", out var errors))
            {
                if (errors.ValueKind == JsonValueKind.Object)
                {
                    fields = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
                    foreach (var field in errors.EnumerateObject())
                    {
                        fields[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? field.Value.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.String).Select(m => m.GetString()!).ToList()
                            : [field.Value.ToString()];
                    }
                }
                else if (errors.ValueKind == JsonValueKind.Array)
                {
                    references = errors.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).Select(e => new LatchReferenceError(
                        Text(e, "path") ?? "$", Text(e, "key"), Text(e, "code") ?? code, Text(e, "message") ?? "")).ToList();
                }
            }

            return new LatchException(status, code, detail, fields, references);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public void Dispose() => _owned?.Dispose();
}
