using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using Latch.Core.Secrets;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Webhooks;

namespace Latch.Server.Tests.Security;

/// <summary>
/// Every comparison of a secret (or a digest or MAC of one) is constant-time, refuses near misses, and the byte-equality
/// APIs that return at the first difference are banned so they cannot creep in.
/// </summary>
public sealed class ConstantTimeComparisonTests
{
    private const string Reason = "Returns at the first difference: compare secrets, keys, MACs and digests with CryptographicOperations.FixedTimeEquals";

    [Fact]
    public async Task An_api_key_differing_only_in_its_last_character_or_length_is_refused()
    {
        await using var server = await TestServer.StartAsync();
        var created = await (await server.Owner.PostAsJsonAsync("/v1/keys", new { name = "near-miss", role = "viewer" })).ReadJsonAsync();
        var key = created["key"]!.GetValue<string>();

        using (var exact = server.Client(key))
        {
            Assert.Equal(HttpStatusCode.OK, (await exact.GetAsync("/v1/secrets")).StatusCode);
        }

        foreach (var near in new[] { FlipLast(key), key[..^1], key + "A" })
        {
            using var client = server.Client(near);
            await (await client.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        }
    }

    [Fact]
    public async Task The_bootstrap_key_differing_only_in_its_last_character_is_refused()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.Owner.GetAsync("/v1/workspace")).StatusCode);
        using var near = server.Client(FlipLast(TestServer.BootstrapKey));
        await (await near.GetAsync("/v1/workspace")).AssertProblemAsync(401, "unauthorized");
        using var create = await near.PostAsJsonAsync("/v1/workspaces", new { name = "sneaky" });
        await create.AssertProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task A_webhook_signature_differing_only_in_its_last_character_is_refused()
    {
        const string HookSecret = "It's a Secret to Everybody";
        await using var server = await TestServer.StartAsync();
        await server.Owner.CreateSecretAsync(new { key = "CT_HOOK_SECRET", value = HookSecret });
        await server.Owner.CreateProductAsync("shop", "prd");
        await server.Owner.CreateWebhookAsync("shop", new
        {
            name = "GitHub",
            tag = "gh",
            app = "hooks",
            signing_secret = "$Token{CT_HOOK_SECRET}",
            scheme = "github",
        });
        var path = $"/hooks/{await server.Owner.WorkspaceIdAsync()}/shop/gh/prd";
        var body = Encoding.UTF8.GetBytes("Hello, World!");
        var signature = WebhookCalls.GitHub(HookSecret, body);

        var near = await server.DeliverAsync(path, body, ("X-Hub-Signature-256", FlipLast(signature)));
        await near.AssertProblemAsync(401, "webhook_unauthorized");
        var shorter = await server.DeliverAsync(path, body, ("X-Hub-Signature-256", signature[..^2]));
        await shorter.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal(HttpStatusCode.NoContent, (await server.DeliverAsync(path, body, ("X-Hub-Signature-256", signature))).StatusCode);
    }

    [Fact]
    public void Secret_values_compare_by_content_and_refuse_near_misses()
    {
        var value = new SecretValue("sk_live_0123456789abcdef");
        Assert.Equal(value, new SecretValue("sk_live_0123456789abcdef"));
        Assert.NotEqual(value, new SecretValue(FlipLast("sk_live_0123456789abcdef")));
        Assert.NotEqual(value, new SecretValue("sk_live_0123456789abcde"));
    }

    [Fact]
    public void The_comparison_sites_use_FixedTimeEquals()
    {
        foreach (var file in new[]
                 {
                     "src/Latch.Core/Access/AccessService.cs",       // API keys and the bootstrap key (SHA-256 digests)
                     "src/Latch.Core/Webhooks/WebhookSignatures.cs", // webhook MACs
                     "src/Latch.Core/Secrets/SecretValue.cs",        // SecretValue.Equals
                     "src/Latch.Client/SecretValue.cs",              // the SDK's SecretValue.Equals
                 })
        {
            var text = File.ReadAllText(Path.Combine(RepositoryRoot(), file));
            Assert.True(text.Contains("CryptographicOperations.FixedTimeEquals", StringComparison.Ordinal), $"{file} no longer compares with FixedTimeEquals");
        }
    }

    [Theory]
    [InlineData("M:System.Linq.Enumerable.SequenceEqual``1(System.Collections.Generic.IEnumerable{``0},System.Collections.Generic.IEnumerable{``0})")]
    [InlineData("M:System.Linq.Enumerable.SequenceEqual``1(System.Collections.Generic.IEnumerable{``0},System.Collections.Generic.IEnumerable{``0},System.Collections.Generic.IEqualityComparer{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceEqual``1(System.Span{``0},System.ReadOnlySpan{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceEqual``1(System.ReadOnlySpan{``0},System.ReadOnlySpan{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceEqual``1(System.Span{``0},System.ReadOnlySpan{``0},System.Collections.Generic.IEqualityComparer{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceEqual``1(System.ReadOnlySpan{``0},System.ReadOnlySpan{``0},System.Collections.Generic.IEqualityComparer{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceCompareTo``1(System.Span{``0},System.ReadOnlySpan{``0})")]
    [InlineData("M:System.MemoryExtensions.SequenceCompareTo``1(System.ReadOnlySpan{``0},System.ReadOnlySpan{``0})")]
    [InlineData("T:System.Collections.StructuralComparisons")]
    public void Early_exit_equality_apis_are_banned(string symbol)
    {
        var banned = File.ReadAllLines(Path.Combine(RepositoryRoot(), "BannedSymbols.txt"));
        var line = banned.SingleOrDefault(l => l.StartsWith(symbol + ";", StringComparison.Ordinal));
        Assert.True(line is not null, $"BannedSymbols.txt no longer bans {symbol}");
        Assert.Contains(Reason, line, StringComparison.Ordinal);
    }

    private static string FlipLast(string text)
    {
        var last = text[^1];
        var replacement = last == 'a' ? 'b' : 'a';
        return text[..^1] + replacement;
    }

    private static string RepositoryRoot([CallerFilePath] string thisFile = "")
    {
        for (var directory = Path.GetDirectoryName(thisFile); directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "BannedSymbols.txt")))
            {
                return directory;
            }
        }

        throw new InvalidOperationException("repository root not found above " + thisFile);
    }
}
