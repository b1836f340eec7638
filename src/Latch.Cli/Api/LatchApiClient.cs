using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;

namespace Latch.Cli.Api;

/// <summary>A thin HTTP client for the Latch API: sends JSON, turns problems into <see cref="LatchApiException"/>.</summary>
internal sealed class LatchApiClient : IDisposable
{
    private static readonly string UserAgent =
        $"latch-cli/{typeof(LatchApiClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0"}";

    private readonly HttpClient _http;

    public LatchApiClient(Uri baseAddress, string apiKey, HttpMessageHandler? handler)
    {
        BaseAddress = baseAddress;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/problem+json");
    }

    /// <summary>Base address, always ending in <c>/</c> so relative paths keep any prefix.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Sends a request; returns the parsed JSON body (null for an empty one) or throws.</summary>
    public async Task<JsonNode?> SendAsync(
        HttpMethod method,
        string relativePath,
        JsonNode? body,
        CancellationToken cancellationToken,
        int? ifMatchVersion = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress, relativePath));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        if (ifMatchVersion is { } version)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version}\""));
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliFailureException($"cannot reach Latch at {BaseAddress}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliFailureException(
                $"cannot reach Latch at {BaseAddress}: no answer within {_http.Timeout.TotalSeconds:0} seconds", ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw LatchApiException.FromResponse(response.StatusCode, response.ReasonPhrase, text);
            }

            if (response.StatusCode == HttpStatusCode.NoContent || string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            try
            {
                return JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new CliFailureException($"Latch at {BaseAddress} answered {(int)response.StatusCode} with a body that is not JSON", ex);
            }
        }
    }

    /// <summary>
    /// Reads a <c>{items, next_cursor}</c> list: one page from <paramref name="cursor"/>, or every page when
    /// <paramref name="all"/>. Returns the items, the cursor of the next page (null at the end) and the first page as answered.
    /// </summary>
    public async Task<PagedResult> ReadPagesAsync(
        string path, IReadOnlyList<string> query, string? cursor, bool all, CancellationToken cancellationToken)
    {
        var items = new JsonArray();
        JsonNode? firstPage = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var pageQuery = new List<string>(query);
            AddQuery(pageQuery, "cursor", cursor);
            var uri = pageQuery.Count == 0 ? path : $"{path}?{string.Join('&', pageQuery)}";
            var page = await SendAsync(HttpMethod.Get, uri, null, cancellationToken);
            firstPage ??= page;
            if (page is JsonObject obj && obj["items"] is JsonArray pageItems)
            {
                foreach (var item in pageItems)
                {
                    items.Add(item?.DeepClone());
                }
            }

            cursor = page is JsonObject withCursor && withCursor["next_cursor"] is JsonValue value && value.TryGetValue<string>(out var text)
                ? text
                : null;
            if (!all || string.IsNullOrEmpty(cursor))
            {
                return new PagedResult(items, string.IsNullOrEmpty(cursor) ? null : cursor, firstPage);
            }

            if (!seen.Add(cursor))
            {
                throw new CliFailureException($"Latch returned the cursor '{cursor}' twice; stopped paging");
            }
        }
    }

    /// <summary>Adds <c>name=value</c> (URL-encoded) when the value is not empty.</summary>
    public static void AddQuery(List<string> query, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!string.IsNullOrEmpty(value))
        {
            query.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    /// <summary>One URL path segment, escaped (an access tag, a product tag).</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    public void Dispose() => _http.Dispose();
}

/// <summary>What <see cref="LatchApiClient.ReadPagesAsync"/> read.</summary>
/// <param name="Items">Every item read.</param>
/// <param name="NextCursor">The cursor of the next unread page; null when there is none.</param>
/// <param name="FirstPage">The first page exactly as answered (for <c>--json</c> without <c>--all</c>).</param>
internal sealed record PagedResult(JsonArray Items, string? NextCursor, JsonNode? FirstPage);
