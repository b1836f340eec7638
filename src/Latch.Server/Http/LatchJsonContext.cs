using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Latch.Core.Runtime;
using Latch.Server.Access;
using Latch.Server.Audit;
using Latch.Server.Runtime;
using Latch.Server.Secrets;
using Latch.Server.Webhooks;
using Microsoft.AspNetCore.Mvc;

namespace Latch.Server.Http;

/// <summary>
/// Source-generated JSON metadata for every type the HTTP API writes: endpoint answers, problem details and the values
/// their extensions hold. It sits first in the HTTP options' resolver chain (<see cref="LatchJson.Configure"/>), so no
/// answer type is inspected by reflection, and the output is the same bytes the reflection-based serializer wrote (the
/// HTTP options' naming, null handling and encoder apply; tests compare the bytes).
/// </summary>
/// <remarks>
/// The generated fast-path serializers are not used: they require options equal to the generation options, and the HTTP
/// options use ASP.NET Core's relaxed encoder (it writes <c>'</c> rather than <c>'</c>), which
/// <see cref="JsonSourceGenerationOptionsAttribute"/> cannot express. Changing the encoder would change the bytes.
/// </remarks>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
// Health.
[JsonSerializable(typeof(StatusResponse))]
// Problems (RFC 9457) and what their extensions hold.
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
[JsonSerializable(typeof(Dictionary<string, string[]>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string[]>))]
[JsonSerializable(typeof(List<ReferenceProblem>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
// Secrets.
[JsonSerializable(typeof(SecretResponse))]
[JsonSerializable(typeof(ListResponse<SecretResponse>))]
[JsonSerializable(typeof(ListResponse<SecretVersionResponse>))]
[JsonSerializable(typeof(UsageResponse))]
[JsonSerializable(typeof(ValidateResponse))]
[JsonSerializable(typeof(CheckResponse))]
// Access.
[JsonSerializable(typeof(WorkspaceResponse))]
[JsonSerializable(typeof(CreatedWorkspaceResponse))]
[JsonSerializable(typeof(ApiKeyResponse))]
[JsonSerializable(typeof(ListResponse<ApiKeyResponse>))]
// Apps, products, product apps, variables, actions.
[JsonSerializable(typeof(AppDefinition))]
[JsonSerializable(typeof(ListResponse<AppDefinition>))]
[JsonSerializable(typeof(ProductDefinition))]
[JsonSerializable(typeof(ListResponse<ProductDefinition>))]
[JsonSerializable(typeof(ProductAppConfig))]
[JsonSerializable(typeof(ListResponse<ProductAppConfig>))]
[JsonSerializable(typeof(ProductAppResponse))]
[JsonSerializable(typeof(ResolvedVariables))]
[JsonSerializable(typeof(ActionRunResponse))]
[JsonSerializable(typeof(Dictionary<string, string>))]
// Webhooks.
[JsonSerializable(typeof(WebhookResponse))]
[JsonSerializable(typeof(ListResponse<WebhookResponse>))]
[JsonSerializable(typeof(ListResponse<DeliveryResponse>))]
// Audit.
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(AuditVerification))]
// JSON values that may sit behind an object-typed member.
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class LatchJsonContext : JsonSerializerContext;

/// <summary>The HTTP API's JSON settings.</summary>
internal static class LatchJson
{
    /// <summary>
    /// snake_case property names, dictionary keys unchanged, and the source-generated <see cref="LatchJsonContext"/> first
    /// in the resolver chain; reflection stays behind it for any type not listed there.
    /// </summary>
    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.TypeInfoResolverChain.Insert(0, LatchJsonContext.Default);
    }
}

/// <summary><c>{"status": …}</c> of <c>/healthz</c> and <c>/readyz</c>.</summary>
internal sealed record StatusResponse(string Status);

/// <summary>One failing reference in a problem's <c>errors</c> extension.</summary>
internal sealed record ReferenceProblem(string Path, string? Key, string Code, string Message);
