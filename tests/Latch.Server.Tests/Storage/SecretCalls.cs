using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Storage;

/// <summary>Small calls shared by the storage and security tests.</summary>
internal static partial class SecretCalls
{
    public static string NewMasterKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>A distinctive random value that cannot appear by chance.</summary>
    public static string DistinctValue(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";

    /// <summary>GET ?reveal=true and returns the value (asserting 200).</summary>
    public static async Task<string> RevealValueAsync(this HttpClient client, string key)
    {
        var response = await client.GetAsync($"/v1/secrets/{key}?reveal=true");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, $"reveal {key}: {(int)response.StatusCode} {text}");
        return (await response.ReadJsonAsync())["value"]!.GetValue<string>();
    }

    /// <summary>Resolves <c>{"v":"$Token{KEY}"}</c> for an unrestricted app/env and returns the substituted value (asserting 200).</summary>
    public static async Task<string> ResolveValueAsync(this HttpClient client, string key)
    {
        var response = await client.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, $"resolve {key}: {(int)response.StatusCode} {text}");
        return (await response.ReadJsonAsync())["document"]!["v"]!.GetValue<string>();
    }

    /// <summary>The keys of every secret (following cursors).</summary>
    public static async Task<List<string>> ListKeysAsync(this HttpClient client)
    {
        var keys = new List<string>();
        string? cursor = null;
        do
        {
            var url = "/v1/secrets?limit=500" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await client.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>(url) ?? throw new InvalidOperationException("empty list");
            keys.AddRange(page["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return keys;
    }

    /// <summary>Runs <see cref="LatchServer.RunAsync"/> in the background and waits until it listens (or ends).</summary>
    public static async Task<RunningServe> StartServeAsync(ServeOptions options)
    {
        var output = new StringWriter();
        var writer = TextWriter.Synchronized(output);
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => LatchServer.RunAsync(options, writer, stop.Token));
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!run.IsCompleted && !Text(writer, output).Contains("Press Ctrl+C", StringComparison.Ordinal))
        {
            await Task.Delay(20, patience.Token);
        }

        var text = Text(writer, output);
        var match = ListeningRegex().Match(text);
        return new RunningServe(run, stop, writer, output, match.Success ? new Uri(match.Groups[1].Value + "/") : null);
    }

    /// <summary>The synchronized writer locks itself while writing; read the text under the same lock.</summary>
    internal static string Text(TextWriter synchronizedWriter, StringWriter output)
    {
        lock (synchronizedWriter)
        {
            return output.ToString();
        }
    }

    [GeneratedRegex(@"Latch is listening on (\S+)")]
    private static partial Regex ListeningRegex();
}

/// <summary><c>latch serve</c> running in-process through <see cref="LatchServer.RunAsync"/>.</summary>
internal sealed class RunningServe(Task<int> run, CancellationTokenSource stop, TextWriter writer, StringWriter output, Uri? address) : IAsyncDisposable
{
    public Task<int> Run { get; } = run;

    /// <summary>Null when the server did not start.</summary>
    public Uri? Address { get; } = address;

    public string Output => SecretCalls.Text(writer, output);

    public HttpClient Client(string apiKey)
    {
        var client = new HttpClient { BaseAddress = Address ?? throw new InvalidOperationException("not listening:\n" + Output) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>Stops the server and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await stop.CancelAsync();
        return await Run;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await stop.CancelAsync();
            await Run;
        }

        stop.Dispose();
    }
}
