using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Latch.Core.Runtime;
using Latch.Server.Access;
using Latch.Server.Audit;
using Latch.Server.Http;
using Latch.Server.Runtime;
using Latch.Server.Secrets;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Webhooks;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using AspNetJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Latch.Server.Tests.Http;

/// <summary>
/// The source-generated JSON (<see cref="LatchJsonContext"/>) writes exactly what the reflection-based serializer wrote
/// with the HTTP options of before, and lists every type an endpoint answers with.
/// </summary>
public sealed class JsonContextTests
{
    // Text that exercises escaping: quotes, HTML-sensitive characters, non-ASCII, an emoji, a control character.
    private const string Tricky = "it's \"<b>&</b>\" é — 😀 \u0001 \\ /";

    private static readonly DateTime At = new(2026, 11, 28, 8, 19, 0, 123, DateTimeKind.Utc);

    /// <summary>The HTTP options as they were: ASP.NET Core's defaults, snake_case, keys unchanged, reflection only.</summary>
    private static JsonSerializerOptions ReflectionOptions()
    {
        var options = new JsonSerializerOptions(new AspNetJsonOptions().SerializerOptions)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        return options;
    }

    /// <summary>The HTTP options now: ASP.NET Core's defaults with <see cref="LatchJson.Configure"/>.</summary>
    private static JsonSerializerOptions GeneratedOptions()
    {
        var options = new JsonSerializerOptions(new AspNetJsonOptions().SerializerOptions);
        LatchJson.Configure(options);
        return options;
    }

    public static TheoryData<string> Samples() => [.. SampleValues().Keys];

    [Theory]
    [MemberData(nameof(Samples))]
    public void Generated_output_is_byte_for_byte_the_reflection_output(string name)
    {
        var value = SampleValues()[name];
        var type = value.GetType();
        var expected = JsonSerializer.Serialize(value, type, ReflectionOptions());

        // Through the HTTP options, as every TypedResults.Ok/Created answer and problem is written.
        var generated = GeneratedOptions();
        Assert.Same(LatchJsonContext.Default, generated.TypeInfoResolverChain[0]);
        Assert.Equal(expected, JsonSerializer.Serialize(value, type, generated));

        // The type comes from the context, not from the reflection fallback.
        Assert.NotNull(LatchJsonContext.Default.GetTypeInfo(type));
    }

    [Fact]
    public void Every_type_an_extension_or_member_holds_at_runtime_is_listed()
    {
        foreach (var type in new[]
                 {
                     typeof(string), typeof(int), typeof(long), typeof(Dictionary<string, string[]>), typeof(List<ReferenceProblem>),
                     typeof(Dictionary<string, string>), typeof(JsonElement), typeof(JsonNode), typeof(JsonObject),
                 })
        {
            Assert.True(LatchJsonContext.Default.GetTypeInfo(type) is not null || type == typeof(JsonObject) && LatchJsonContext.Default.GetTypeInfo(typeof(JsonNode)) is not null,
                $"{type} is not in LatchJsonContext");
        }
    }

    /// <summary>Every response type an endpoint declares (<c>Produces&lt;T&gt;</c>) is in the context.</summary>
    [Fact]
    public async Task Every_declared_endpoint_answer_type_is_in_the_context()
    {
        var options = new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = TestServer.NewDataDirectory(),
            MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ConfigureLogging = _ => { },
        };
        var app = await LatchServer.BuildAsync(options, TextWriter.Null, CancellationToken.None);
        await app.StartAsync();
        try
        {
            var types = app.Services.GetRequiredService<EndpointDataSource>().Endpoints
                .SelectMany(e => e.Metadata.OfType<IProducesResponseTypeMetadata>())
                .Select(m => m.Type)
                .Where(t => t is not null && t != typeof(void))
                .Distinct()
                .ToList();
            Assert.Contains(typeof(CheckResponse), types);
            Assert.Contains(typeof(ActionRunResponse), types);
            var missing = types.Where(t => LatchJsonContext.Default.GetTypeInfo(t!) is null).Select(t => t!.ToString()).ToList();
            Assert.Empty(missing);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static Dictionary<string, object> SampleValues()
    {
        var policyUrl = "https://tools.ietf.org/html/rfc9110#section-15.5.1";
        var problem = new ProblemDetails { Type = policyUrl, Title = "Bad Request", Status = 400, Detail = Tricky };
        problem.Extensions["code"] = "validation_failed";
        problem.Extensions["errors"] = new Dictionary<string, string[]> { ["key"] = ["is required", Tricky], ["Mixed_Case"] = [] };
        problem.Extensions["traceId"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var referenceProblem = new ProblemDetails { Type = policyUrl, Title = "Unprocessable Entity", Status = 422, Detail = "x" };
        referenceProblem.Extensions["code"] = "resolution_failed";
        referenceProblem.Extensions["errors"] = new List<ReferenceProblem> { new("$.a", "KEY", "secret_not_found", Tricky), new("$.b", null, "malformed_reference", "m") };
        using var headers = JsonDocument.Parse("""{"content-type":["application/json"],"x-odd":["it's <b>"]}""");
        using var body = JsonDocument.Parse("""{"n":1.50,"e":1e3,"s":"it's","a":[true,false,null],"o":{}}""");
        var secret = new SecretResponse("API_KEY", Tricky, null, ["app", "shop:app"], [], 1_800_000_000, "active", false, 3, At, At, null, "$Token{API_KEY}");
        var app = new AppDefinition("up_app", Tricky, [new AppEnvironment("live", "https://api.example.com")],
            [new AuthDefinition("bearer", new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{api_key}" })],
            [new ActionDefinition("charge", "POST", "/v1/charges/{id}", null, new Dictionary<string, string> { ["a"] = "1" }, body.RootElement.Clone())]);
        var product = new ProductDefinition("bench", "Bench", [new ProductEnvironment("prd", "Production"), new ProductEnvironment("dev", "Dev", false)]);
        var productApp = new ProductAppConfig("up_app", [new ProductAppEnvironment("live", "prd",
            [new ProductAppVariable("REGION", "eu")], [new ProductAppAuth("bearer", new Dictionary<string, string> { ["api_key"] = "$Token{K}" })])]);
        var webhook = new WebhookResponse("hook", "Hook", "bench", "up_app", "stripe", "$Token{SIGNING}", null, 0, null, "http://h/hooks/ws/bench/hook/{env}",
            At, At, 2, null, Tricky);
        return new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["status"] = new StatusResponse("ok"),
            ["problem"] = problem,
            ["problem.references"] = referenceProblem,
            ["validation problem"] = new Microsoft.AspNetCore.Http.HttpValidationProblemDetails(new Dictionary<string, string[]> { ["a"] = ["b"] }) { Status = 400, Title = "t" },
            ["secret"] = secret,
            ["secret.value"] = secret with { Value = Tricky, LastUsedAt = At, ExpiresAt = null },
            ["secrets"] = new ListResponse<SecretResponse>([secret], "cursor"),
            ["versions"] = new ListResponse<SecretVersionResponse>([new SecretVersionResponse(1, At, null), new SecretVersionResponse(2, At, "owner")], null),
            ["usage"] = new UsageResponse("K", [new UsageReference("p", "a", null, "$.x", "variable")], [new UsageRecent(null, "a", "e", "resolve", 3, At)]),
            ["validate"] = new ValidateResponse(false, [new FoundReferenceResponse("$.a", "K")], [new ErrorResponse("$.b", null, "malformed_reference", Tricky)]),
            ["check"] = new CheckResponse(false, [new CheckItemResponse("$.a", "K", true, null, null), new CheckItemResponse("$.b", null, false, "malformed_reference", Tricky)]),
            ["workspace"] = new WorkspaceResponse("ws_1", Tricky),
            ["workspace.created"] = new CreatedWorkspaceResponse("ws_1", "n", "latch_xyz"),
            ["key"] = new ApiKeyResponse("key_1", "n", "owner", [], ["prd"], null, At, "latch_abc"),
            ["keys"] = new ListResponse<ApiKeyResponse>([new ApiKeyResponse("key_1", "n", "runtime", ["a"], [], 5, At, null)], null),
            ["app"] = app,
            ["app.minimal"] = new AppDefinition("a", "b", []),
            ["apps"] = new ListResponse<AppDefinition>([app], null),
            ["product"] = product,
            ["products"] = new ListResponse<ProductDefinition>([product], "n"),
            ["product app"] = productApp,
            ["product apps"] = new ListResponse<ProductAppConfig>([productApp, new ProductAppConfig("b", [new ProductAppEnvironment("x", "y")])], null),
            ["product app response"] = new ProductAppResponse("up_app", productApp.Envs, [new ConfigWarning("prd", "$.x", null, "secret_not_found", Tricky)]),
            ["variables"] = new ResolvedVariables("p", "a", "e", new Dictionary<string, string> { ["REGION"] = Tricky, ["Z"] = "" }, ["OPT"], [new ResolvedVariableReference("$.REGION", "K", 2)]),
            ["action run"] = new ActionRunResponse(200, new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "application/json", ["X-A"] = Tricky },
                JsonNode.Parse("""{"ok":true,"n":1.50,"s":"it's <b>","a":[1,null]}"""), null, 12, "0HN:1"),
            ["action run.text"] = new ActionRunResponse(502, new Dictionary<string, string>(), JsonValue.Create(Tricky), null, 0, ""),
            ["action run.binary"] = new ActionRunResponse(200, new Dictionary<string, string>(), null, Convert.ToBase64String(Encoding.UTF8.GetBytes(Tricky)), 0, "r"),
            ["webhook"] = webhook,
            ["webhook.warnings"] = webhook with { Warnings = [new WebhookWarningResponse("prd", "secret_not_found", Tricky)] },
            ["webhooks"] = new ListResponse<WebhookResponse>([webhook], null),
            ["deliveries"] = new ListResponse<DeliveryResponse>([new DeliveryResponse("d1", At, "prd", headers.RootElement.Clone(), Tricky, null),
                new DeliveryResponse("d2", At, "prd", headers.RootElement.Clone(), null, "AAEC")], "c"),
            ["audit"] = new AuditPage([new AuditItem("evt_1", 7, At, "secret.resolved", new AuditActor("key_1", null), "r", "127.0.0.1", "K", 1,
                "p", "a", "e", "resolve", "$.a", null, Tricky, "hash")], null, "7"),
            ["audit.verify"] = new AuditVerification(false, 10, new BrokenLink("evt_2", 8, At, "secret.denied")),
            ["audit.verify.ok"] = new AuditVerification(true, 10, null),
        };
    }
}
