using System.Text;
using System.Text.Json.Nodes;
using Latch.Core.References;
using Latch.Core.Secrets;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Core.Tests.References;

public sealed class ResolutionEngineTests
{
    private static readonly ResolutionTarget Target = new("stripe_app", "prd", "shop");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private ResolutionEngine Engine => new(_time);

    private static ScannedDocument Scan(string json) => ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task Resolve_substitutes_every_reference_and_reports_versions()
    {
        var lookup = new FakeSecretLookup().Add("A", "va", version: 2).Add("B", "vb", version: 7);
        var doc = Scan("""{"auth":"Bearer $Token{A}","list":["$Secret{B}","$Token{A}"]}""");

        var outcome = await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None);

        Assert.True(outcome.IsSuccess);
        Assert.Equal("""{"auth":"Bearer va","list":["vb","va"]}""", Encoding.UTF8.GetString(outcome.Document));
        Assert.Equal(
            [new ResolvedReference("$.auth", "A", 2), new ResolvedReference("$.list[0]", "B", 7), new ResolvedReference("$.list[1]", "A", 2)],
            outcome.Resolved);
        Assert.Equal(["va", "vb"], outcome.Values.Select(v => v.Reveal()).Order(StringComparer.Ordinal));
        Assert.Empty(outcome.Errors);
    }

    [Fact]
    public async Task Policies_are_loaded_once_and_distinct_secrets_decrypted_once()
    {
        var lookup = new FakeSecretLookup().Add("A", "va").Add("B", "vb");
        var doc = Scan("""["$Token{A}","$Token{B}","$Token{A}","$Token{B}"]""");

        await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None);

        Assert.Equal(1, lookup.PolicyCalls);
        Assert.Equal(1, lookup.DecryptCalls);
        Assert.Equal(["A", "B"], lookup.LastDecrypted);
    }

    [Fact]
    public async Task Every_failing_reference_is_listed_in_document_order_and_nothing_is_decrypted()
    {
        var lookup = new FakeSecretLookup()
            .Add("OK", "v")
            .Add("OLD_KEY", "v", revoked: true)
            .Add("OTHER", "v", scope: ["other_app"])
            .Add("DEV_ONLY", "v", envs: ["dev"])
            .Add("EXPIRED", "v", expiresAt: _time.GetUtcNow());
        var doc = Scan("""
            {"a":"$Token{OK}","b":"$Token{MISSING}","c":["$Token{OLD_KEY}","$Token{}"],
             "d":{"e":"$Token{OTHER} $Token{DEV_ONLY}"},"f":"$Token{EXPIRED}","g":"$Token{OK"}
            """);

        var outcome = await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None);

        Assert.False(outcome.IsSuccess);
        Assert.Null(outcome.Document);
        Assert.Empty(outcome.Values);
        Assert.Empty(outcome.Resolved);
        Assert.Equal(0, lookup.DecryptCalls);
        Assert.Equal(
            [
                new ReferenceError("$.b", "MISSING", "secret_not_found", "Secret 'MISSING' not found"),
                new ReferenceError("$.c[0]", "OLD_KEY", "secret_revoked", "Secret 'OLD_KEY' has been revoked"),
                new ReferenceError("$.c[1]", null, "malformed_reference", "Malformed secret reference at $.c[1]: empty key"),
                new ReferenceError("$.d.e", "OTHER", "secret_scope_denied", "Secret 'OTHER' is not accessible by app 'stripe_app'"),
                new ReferenceError("$.d.e", "DEV_ONLY", "secret_env_denied", "Secret 'DEV_ONLY' is not available in environment 'prd'"),
                new ReferenceError("$.f", "EXPIRED", "secret_expired", "Secret 'EXPIRED' has expired"),
                new ReferenceError("$.g", "OK", "malformed_reference", "Malformed secret reference at $.g: missing closing brace"),
            ],
            outcome.Errors);
    }

    [Fact]
    public async Task A_malformed_reference_alone_fails_the_resolution()
    {
        var lookup = new FakeSecretLookup().Add("A", "v");
        var outcome = await Engine.ResolveAsync(Scan("""["$Token{A}","$Token{A B}"]"""), Target, lookup, CancellationToken.None);
        Assert.False(outcome.IsSuccess);
        Assert.Equal("malformed_reference", Assert.Single(outcome.Errors).Code);
        Assert.Equal(0, lookup.DecryptCalls);
    }

    [Fact]
    public async Task Check_reports_every_reference_and_never_decrypts()
    {
        var lookup = new FakeSecretLookup().Add("A", "v").Add("B", "v", envs: ["dev"]);
        var doc = Scan("""{"x":"$Token{A}","y":"$Token{B}","z":"$Token{"}""");

        var report = await Engine.CheckAsync(doc, Target, lookup, CancellationToken.None);

        Assert.Equal(0, lookup.DecryptCalls);
        Assert.False(report.Ok);
        Assert.Equal(
            [
                new ReferenceCheck("$.x", "A", true, null, null),
                new ReferenceCheck("$.y", "B", false, "secret_env_denied", "Secret 'B' is not available in environment 'prd'"),
            ],
            report.References);
        Assert.Equal("$.z", Assert.Single(report.Malformed).Path);
        Assert.Equal(["$.y", "$.z"], report.Errors.Select(e => e.Path));
    }

    [Fact]
    public async Task Check_of_a_clean_document_is_ok()
    {
        var lookup = new FakeSecretLookup().Add("A", "v");
        var report = await Engine.CheckAsync(Scan("""["$Token{A}"]"""), Target, lookup, CancellationToken.None);
        Assert.True(report.Ok);
    }

    [Fact]
    public async Task Integrity_failure_is_reported_for_every_reference_of_that_key()
    {
        var lookup = new FakeSecretLookup().Add("A", "v").Add("X", "v");
        lookup.Tampered.Add("X");
        var doc = Scan("""["$Token{X}","$Token{A}","$Token{X}"]""");

        var outcome = await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None);

        Assert.False(outcome.IsSuccess);
        Assert.Equal(
            [
                new ReferenceError("$[0]", "X", "secret_integrity", "Secret 'X' failed its integrity check"),
                new ReferenceError("$[2]", "X", "secret_integrity", "Secret 'X' failed its integrity check"),
            ],
            outcome.Errors);
    }

    [Fact]
    public async Task Expiry_uses_the_injected_clock()
    {
        var lookup = new FakeSecretLookup().Add("A", "v", expiresAt: _time.GetUtcNow().AddMinutes(5));
        var doc = Scan("""["$Token{A}"]""");

        Assert.True((await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None)).IsSuccess);
        _time.Advance(TimeSpan.FromMinutes(5));
        var outcome = await Engine.ResolveAsync(doc, Target, lookup, CancellationToken.None);
        Assert.Equal("secret_expired", Assert.Single(outcome.Errors).Code);
    }

    [Fact]
    public async Task Document_without_references_resolves_without_touching_the_store()
    {
        var lookup = new FakeSecretLookup();
        var outcome = await Engine.ResolveAsync(Scan("""{"a":"$$Token{A}","n":1}"""), Target, lookup, CancellationToken.None);

        Assert.True(outcome.IsSuccess);
        Assert.Equal("$Token{A}", (string?)JsonNode.Parse(outcome.Document)!["a"]);
        Assert.Equal(0, lookup.PolicyCalls);
        Assert.Equal(0, lookup.DecryptCalls);
    }

    [Fact]
    public async Task Substituted_values_containing_references_are_inserted_literally()
    {
        var lookup = new FakeSecretLookup().Add("A", "$Token{B}").Add("B", "never");
        var outcome = await Engine.ResolveAsync(Scan("""{"a":"$Token{A}"}"""), Target, lookup, CancellationToken.None);
        Assert.Equal("$Token{B}", (string?)JsonNode.Parse(outcome.Document!)!["a"]);
        Assert.Equal(["A"], lookup.LastDecrypted);
    }

    [Fact]
    public async Task Resolve_values_returns_values_by_key_for_other_callers()
    {
        var lookup = new FakeSecretLookup().Add("SIGNING", "whsec_1");
        var refs = new List<FoundReference>();
        var malformed = new List<ReferenceError>();
        ReferenceText.Collect("$Token{SIGNING}", "$.signing_secret", refs, malformed);
        var doc = Scan("""{"signing_secret":"$Token{SIGNING}"}""");

        var values = await Engine.ResolveValuesAsync(doc, Target, lookup, CancellationToken.None);

        Assert.True(values.IsSuccess);
        Assert.Equal("whsec_1", ReferenceText.Substitute("$Token{SIGNING}", values.Values));
        Assert.Equal(refs, doc.References);
    }

    [Fact]
    public void Secret_value_is_redacted_in_text()
    {
        Assert.Equal("***", new SecretValue("x").ToString());
    }
}
