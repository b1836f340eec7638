using System.Reflection;
using System.Text;
using System.Text.Json;
using Latch.Cli.Secrets;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Latch.Fuzz;

/// <summary>
/// The fuzz targets. Each takes arbitrary bytes and returns normally for every input, including the documented failures
/// (<see cref="InvalidDocumentException"/>, a parse failure result, a problem response). Any other exception, or a broken
/// invariant (<see cref="InvariantException"/>), is a crash for afl-fuzz and a failure when the corpus is replayed in CI.
/// </summary>
public static class Targets
{
    /// <summary>The target names, as given to <c>fuzz/run</c>.</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["references"] = References,
        ["scanner"] = Scanner,
        ["dotenv"] = DotEnv,
        ["webhooks"] = Webhooks,
        ["binding"] = Binding,
    };

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    /// <summary>
    /// Differential: the scanner's own strict tokenizer (the fast path) against the <see cref="System.Text.Json.Utf8JsonReader"/>
    /// scan it must agree with — same references, paths, keys, malformed list and substitution output, or the same
    /// <see cref="InvalidDocumentException"/> (message and position) — at the default depth limit and at a small one.
    /// </summary>
    public static void Scanner(byte[] input)
    {
        foreach (var depth in new[] { ReferenceScanner.DefaultMaxDepth, 3 })
        {
            var fast = ScanOutcome(() => ReferenceScanner.Scan(input, depth));
            var reader = ScanOutcome(() => ReferenceScanner.ScanWithReader(input, depth));
            Invariant(string.Equals(fast, reader, StringComparison.Ordinal), "the fast scanner and the Utf8JsonReader scan disagree");
        }
    }

    private static string ScanOutcome(Func<ScannedDocument> scan)
    {
        ScannedDocument document;
        try
        {
            document = scan();
        }
        catch (InvalidDocumentException e)
        {
            return $"error {e.Message} {e.ByteOffset} {e.LineNumber} {e.BytePositionInLine}";
        }

        var text = new StringBuilder();
        text.Append("refs ").AppendJoin(" | ", document.References.Select(r => r.Path + " " + r.Key)).Append('\n');
        text.Append("malformed ").AppendJoin(" | ", document.Malformed).Append('\n');
        text.Append("keys ").AppendJoin(",", document.Keys).Append('\n');
        text.Append("rewrites ").Append(document.HasRewrites).Append('\n');
        if (document.Malformed.Count == 0)
        {
            var values = document.Keys.ToDictionary(k => k, k => new SecretValue("\"v\\\n\u0001" + k + "$Token{A}"), StringComparer.Ordinal);
            var whole = document.Substitute(values);
            var writer = new System.Buffers.ArrayBufferWriter<byte>(1);
            document.Substitute(values, writer);
            Invariant(System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(whole, writer.WrittenSpan), "the two substitution paths disagree");
            text.Append(Convert.ToHexString(whole));
        }

        return text.ToString();
    }

    /// <summary>ReferenceScanner, ResolutionEngine (check and resolve, against an in-memory store) and ReferenceText.</summary>
    public static void References(byte[] input)
    {
        // The text API first: any string.
        var text = Encoding.UTF8.GetString(input);
        var found = ReferenceText.Find(text);
        foreach (var reference in found)
        {
            Invariant(reference.Index >= 0 && reference.Length > 0 && reference.Index + reference.Length <= text.Length, "ReferenceText.Find returned a span outside the text");
            Invariant(reference.IsMalformed || ReferenceText.IsValidKey(reference.Key), "ReferenceText.Find returned a well-formed reference with an invalid key");
        }

        var references = new List<FoundReference>();
        var malformed = new List<ReferenceError>();
        ReferenceText.Collect(text, "$", references, malformed);
        _ = ReferenceText.HasReferenceSyntax(text);
        // Documented: an escaped text survives resolution unchanged.
        var escaped = ReferenceText.Escape(text);
        string unescaped;
        try
        {
            unescaped = ReferenceText.Substitute(escaped, new Dictionary<string, SecretValue>(StringComparer.Ordinal));
        }
        catch (InvalidOperationException)
        {
            throw new InvariantException("an escaped text still holds a reference or a malformed reference");
        }

        Invariant(string.Equals(unescaped, text, StringComparison.Ordinal), "an escaped text did not survive resolution unchanged");
        var values = references.Select(r => r.Key).Distinct(StringComparer.Ordinal).ToDictionary(k => k, k => new SecretValue("v-" + k), StringComparer.Ordinal);
        if (malformed.Count == 0)
        {
            _ = ReferenceText.Substitute(text, values);
        }

        // The streaming scanner: any bytes; invalid JSON is the documented InvalidDocumentException.
        ScannedDocument document;
        try
        {
            document = ReferenceScanner.Scan(input);
        }
        catch (InvalidDocumentException)
        {
            return;
        }

        var lookup = new FuzzLookup(document.Keys);
        var engine = new ResolutionEngine(new FixedTime(Now));
        var target = new ResolutionTarget("app_a", "prd", "shop");
        var report = engine.CheckAsync(document, target, lookup, CancellationToken.None).GetAwaiter().GetResult();
        Invariant(report.References.Count == document.References.Count, "check reported a different number of references");
        var outcome = engine.ResolveAsync(document, target, lookup, CancellationToken.None).GetAwaiter().GetResult();
        if (outcome.IsSuccess)
        {
            // A resolved valid document is valid JSON.
            using var resolved = JsonDocument.Parse(outcome.Document!, new JsonDocumentOptions { MaxDepth = ReferenceScanner.MaxAllowedDepth });
        }
        else
        {
            Invariant(outcome.Errors.Count > 0, "a failed resolution without errors");
        }

        // Substituting every key (even failing ones) must also produce valid JSON when nothing is malformed.
        if (document.Malformed.Count == 0)
        {
            var all = document.Keys.ToDictionary(k => k, k => new SecretValue("\"\\\u2028" + k), StringComparer.Ordinal);
            using var substituted = JsonDocument.Parse(document.Substitute(all), new JsonDocumentOptions { MaxDepth = ReferenceScanner.MaxAllowedDepth });
        }
    }

    /// <summary>The dotenv parser of <c>latch secrets import</c>: never throws, every key is either a value or an error.</summary>
    public static void DotEnv(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var document = DotEnvParser.Parse(text);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in document.Items)
        {
            Invariant(keys.Add(item.Key), "a key appears twice in the items");
            Invariant(item.Line >= 1, "an item has no line number");
            Invariant((item.Value is null) != (item.Error is null), "an item is neither a value nor an error");
            Invariant(item.Value is null || item.Value.Length > 0, "an empty value was accepted");
        }

        foreach (var issue in document.SyntaxErrors.Concat(document.Warnings))
        {
            Invariant(issue.Line >= 1 && !string.IsNullOrEmpty(issue.Message), "an issue without line or message");
        }
    }

    /// <summary>The valid items of a dotenv text, key → value (for the property tests of the parser).</summary>
    public static IReadOnlyDictionary<string, string> DotEnvValues(string text) =>
        DotEnvParser.Parse(text).Items.Where(i => i.IsValid).ToDictionary(i => i.Key, i => i.Value!, StringComparer.Ordinal);

    /// <summary>
    /// The webhook signature header parsers. Input: first byte picks the scheme, then NUL-separated fields: three header
    /// values (the scheme's signature header; for standard: id, timestamp, signature), a header name, then the body.
    /// </summary>
    public static void Webhooks(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var scheme = WebhookSchemes.All[input[0] % WebhookSchemes.All.Count];
        var parts = Encoding.UTF8.GetString(input, 1, input.Length - 1).Split('\0', 5);
        string? Part(int i) => i < parts.Length && parts[i].Length > 0 ? parts[i] : null;
        var customHeader = Part(3) is { } h && h.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? h : null;
        var hook = new WebhookDefinition("hook", "Hook", "app_a", "$Token{HOOK}", scheme,
            WebhookSchemes.HasTimestamp(scheme) ? 300 : null, 0, scheme == WebhookSchemes.HmacSha256 ? customHeader : null);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (scheme == WebhookSchemes.Standard)
        {
            Add(headers, WebhookSchemes.StandardIdHeader, Part(0));
            Add(headers, WebhookSchemes.StandardTimestampHeader, Part(1));
            Add(headers, WebhookSchemes.StandardSignatureHeader, Part(2));
        }
        else
        {
            var name = scheme switch
            {
                WebhookSchemes.GitHub => WebhookSchemes.GitHubHeader,
                WebhookSchemes.Stripe => WebhookSchemes.StripeHeader,
                _ => WebhookSignatures.HmacHeader(hook),
            };
            Add(headers, name, Part(0) is { } a && Part(1) is { } b ? a + "," + b : Part(0) ?? Part(1));
        }

        string? Header(string name) => headers.TryGetValue(name, out var value) ? value : null;
        var body = Encoding.UTF8.GetBytes(Part(4) ?? string.Empty);
        var precheck = WebhookSignatures.Precheck(hook, Header);
        SecretValue[] secrets = [new("It's a Secret to Everybody"), new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), new("whsec_")];
        var verification = WebhookSignatures.Verify(hook, Header, body, secrets, Now);
        Invariant(precheck is null || (!verification.Ok && verification.Reason == precheck), "Precheck and Verify disagree");
        Invariant(verification.Ok == (verification.Reason is null) && verification.Ok == (verification.MatchedSecret >= 0), "an inconsistent verification");
        Invariant(verification.Ok || WebhookReasonsAll.Contains(verification.Reason), "an unknown rejection reason");
        var stored = WebhookSignatures.HeadersForStorage(hook, headers.Concat([new KeyValuePair<string, string>(Part(3) ?? "X-Other", Part(4) ?? "")]));
        using var storedJson = JsonDocument.Parse(stored);
    }

    /// <summary>
    /// Request binding: the body reader of every JSON endpoint (JsonBody: size, depth, duplicates, root object) and the
    /// field readers the handlers use, bound as a secret create, a secret update and an action run.
    /// </summary>
    public static void Binding(byte[] input)
    {
        var (document, problem) = ServerBinding.Read(input);
        if (document is null)
        {
            Invariant(problem is not null, "neither a document nor a problem");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            Invariant(root.ValueKind == JsonValueKind.Object, "a non-object root was accepted");

            // As POST /v1/secrets.
            var create = new ServerBinding.Fields(root);
            create.RequiredString("key", 1000);
            create.Value("value", 64 * 1024);
            create.OptionalString("description", 1000);
            create.OptionalString("token_type", 100);
            create.StringArray("scope", s => s.Length is > 0 and <= 64, "must be an access tag");
            create.StringArray("envs", s => s.Length is > 0 and <= 64, "must be an environment slug");
            create.UnixSeconds("expires_at");
            _ = create.Error();

            // As PATCH /v1/secrets/{key} and rollback.
            var patch = new ServerBinding.Fields(root);
            patch.Value("value", 64 * 1024);
            patch.Bool("revoked");
            patch.RequiredInt("version", 1, int.MaxValue);
            patch.RequiredAny("document");
            _ = patch.Error();

            // As POST /v1/actions/run (input is a nested object of string maps).
            var run = new ServerBinding.Fields(root);
            run.RequiredString("env", 64);
            if (run.Has("retries"))
            {
                run.RequiredInt("retries", 0, 5);
            }

            if (run.Has("input") && root.GetProperty("input").ValueKind == JsonValueKind.Object)
            {
                var inner = new ServerBinding.Fields(root.GetProperty("input"));
                inner.StringMap("headers", 100, 8 * 1024);
                inner.StringMap("query", 100, 8 * 1024);
                inner.StringMap("params", 100, 8 * 1024);
                inner.Has("body");
                _ = inner.Error();
            }

            _ = run.Error();
        }
    }

    private static readonly HashSet<string?> WebhookReasonsAll = typeof(WebhookReasons)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string?)f.GetRawConstantValue())
        .ToHashSet(StringComparer.Ordinal);

    private static void Add(Dictionary<string, string> headers, string name, string? value)
    {
        if (value is not null)
        {
            headers[name] = value;
        }
    }

    private static void Invariant(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantException(what);
        }
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Every referenced key exists; a key's first character decides revoked, scoped away, env-denied or expired.</summary>
    private sealed class FuzzLookup(IReadOnlyList<string> keys) : ISecretLookup
    {
        private readonly Dictionary<string, SecretPolicy> _policies = keys.ToDictionary(k => k, Policy, StringComparer.Ordinal);

        public ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> wanted, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<string, SecretPolicy>>(
                wanted.Where(k => _policies.ContainsKey(k) && !k.StartsWith('N')).ToDictionary(k => k, k => _policies[k], StringComparer.Ordinal));

        public ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<string, SecretValue>>(
                secrets.ToDictionary(s => s.Key, s => new SecretValue("value-of-" + s.Key + "\"\n\\"), StringComparer.Ordinal));

        private static SecretPolicy Policy(string key) => key[0] switch
        {
            'R' => new SecretPolicy(key, 2, true, [], [], null),
            'S' => new SecretPolicy(key, 1, false, ["other_app"], [], null),
            'E' => new SecretPolicy(key, 1, false, [], ["dev"], null),
            'X' => new SecretPolicy(key, 1, false, [], [], Now.AddDays(-1)),
            _ => new SecretPolicy(key, 3, false, ["app_a", "shop:app_a"], ["prd"], Now.AddDays(1)),
        };
    }
}

/// <summary>A broken invariant: a crash like any unexpected exception.</summary>
public sealed class InvariantException : Exception
{
    public InvariantException()
    {
    }

    public InvariantException(string message)
        : base(message)
    {
    }

    public InvariantException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Latch.Server's request binding (internal: <c>JsonBody</c>, <c>FieldReader</c>) reached by reflection, so the fuzz
/// harness needs no change to Latch.Server. The exceptions of the target methods are unwrapped.
/// </summary>
internal static class ServerBinding
{
    private static readonly Assembly Server = typeof(Latch.Server.ServeOptions).Assembly;
    private static readonly Type JsonBodyType = Server.GetType("Latch.Server.Http.JsonBody", throwOnError: true)!;
    private static readonly Type LimitsType = Server.GetType("Latch.Server.Http.JsonBody+Limits", throwOnError: true)!;
    private static readonly Type FieldReaderType = Server.GetType("Latch.Server.Http.FieldReader", throwOnError: true)!;
    private static readonly MethodInfo ReadObject = JsonBodyType.GetMethod("ReadObjectAsync", BindingFlags.Public | BindingFlags.Static)!;
    private static readonly IServiceProvider Services = BuildServices();

    public static (JsonDocument? Document, object? Problem) Read(byte[] body)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        var task = (Task<(JsonDocument?, IResult?)>)Call(ReadObject, null, context, CancellationToken.None)!;
        var (document, problem) = task.GetAwaiter().GetResult();
        return (document, problem);
    }

    private static IServiceProvider BuildServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton(LimitsType, Activator.CreateInstance(LimitsType, 1024L * 1024)!);
        return services.BuildServiceProvider();
    }

    private static object? Call(MethodInfo method, object? target, params object?[] arguments)
    {
        try
        {
            return method.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    /// <summary>One FieldReader over an object.</summary>
    public sealed class Fields(JsonElement obj)
    {
        private readonly object _reader = Activator.CreateInstance(FieldReaderType, obj)!;

        public bool Has(string name) => (bool)Invoke(nameof(Has), name)!;

        public object? RequiredString(string name, int maxLength) => Invoke(nameof(RequiredString), name, maxLength);

        public object? OptionalString(string name, int maxLength) => Invoke(nameof(OptionalString), name, maxLength, true);

        public object? Value(string name, int maxBytes) => Invoke(nameof(Value), name, maxBytes);

        public object? StringArray(string name, Func<string, bool> isValid, string rule) => Invoke(nameof(StringArray), name, isValid, rule, 100);

        public object? StringMap(string name, int maxItems, int maxValueLength) => Invoke(nameof(StringMap), name, maxItems, maxValueLength);

        public object? UnixSeconds(string name) => Invoke(nameof(UnixSeconds), name);

        public object? Bool(string name) => Invoke(nameof(Bool), name);

        public object? RequiredInt(string name, int min, int max) => Invoke(nameof(RequiredInt), name, min, max);

        public object? RequiredAny(string name) => Invoke(nameof(RequiredAny), name);

        public object? Error() => Call(FieldReaderType.GetProperty("Error")!.GetMethod!, _reader);

        private object? Invoke(string method, params object?[] arguments) =>
            Call(FieldReaderType.GetMethod(method, BindingFlags.Public | BindingFlags.Instance)!, _reader, arguments);
    }
}
