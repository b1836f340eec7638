using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;

namespace Latch.Server.Tests.Webhooks;

/// <summary>Products, webhooks, signed deliveries and the audit table, for the webhook tests.</summary>
internal static class WebhookCalls
{
    public static async Task CreateProductAsync(this HttpClient client, string tag, params string[] envs)
    {
        var response = await client.PostAsJsonAsync("/v1/products", new
        {
            tag,
            name = tag,
            envs = envs.Select(e => new { slug = e, env_name = e, active = true }).ToArray(),
        });
        Assert.True((int)response.StatusCode == 201, $"product create failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static async Task<JsonNode> CreateWebhookAsync(this HttpClient client, string product, object body)
    {
        var response = await client.PostAsJsonAsync($"/v1/products/{product}/webhooks", body);
        var json = await response.ReadJsonAsync();
        Assert.True((int)response.StatusCode == 201, $"webhook create failed: {(int)response.StatusCode} {json.ToJsonString()}");
        return json;
    }

    public static async Task<string> WorkspaceIdAsync(this HttpClient client) =>
        (await (await client.GetAsync("/v1/workspace")).ReadJsonAsync())["id"]!.GetValue<string>();

    /// <summary>Posts a delivery with no API key, as a webhook sender does.</summary>
    public static async Task<HttpResponseMessage> DeliverAsync(this TestServer server, string path, byte[] body, params (string Name, string Value)[] headers)
    {
        using var client = server.Client(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }

        return await client.SendAsync(request);
    }

    public static async Task<JsonArray> DeliveriesAsync(this HttpClient client, string product, string tag)
    {
        var response = await client.GetAsync($"/v1/products/{product}/webhooks/{tag}/deliveries");
        Assert.Equal(200, (int)response.StatusCode);
        return (await response.ReadJsonAsync())["items"]!.AsArray();
    }

    public static string GitHub(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static string Hex(string secret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static string StripeV1(string secret, long t, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), (byte[])[.. Encoding.UTF8.GetBytes($"{t}."), .. body]));

    public static string Standard(string secret, string id, long t, byte[] body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(secret["whsec_".Length..]),
            (byte[])[.. Encoding.UTF8.GetBytes($"{id}.{t.ToString(CultureInfo.InvariantCulture)}."), .. body]));

    public static string NewStandardSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Audit rows of one action, oldest first, read straight from latch.db.</summary>
    public static List<AuditRow> Audit(this TestServer server, string action)
    {
        using var connection = DataFiles.Open(server.DataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT action, code, detail, secret_key, version, product, app, env, context, actor_key_id
            FROM audit_events WHERE action = $action ORDER BY seq
            """;
        command.Parameters.AddWithValue("$action", action);
        using var reader = command.ExecuteReader();
        var rows = new List<AuditRow>();
        while (reader.Read())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            rows.Add(new AuditRow(reader.GetString(0), Text(1), Text(2), Text(3), reader.IsDBNull(4) ? null : reader.GetInt32(4),
                Text(5), Text(6), Text(7), Text(8), Text(9)));
        }

        return rows;
    }

    /// <summary>Every text column of every audit row, for leak checks.</summary>
    public static string AllAuditText(this TestServer server) => DataFiles.AllAuditText(server.DataDirectory);
}

internal sealed record AuditRow(
    string Action, string? Code, string? Detail, string? SecretKey, int? Version, string? Product, string? App, string? Env, string? Context, string? ActorKeyId);
