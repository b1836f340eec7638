using System.Text.Json;

namespace Latch.Server.Http;

// Request shapes for the OpenAPI document only. Bodies are read by FieldReader so that one bad
// request lists every field error with Latch's own messages; these records describe the same fields.
#pragma warning disable CA1812 // Used as OpenAPI metadata, never instantiated.

internal sealed record CreateSecretRequest(string Key, string? Value, string? Description, string? TokenType, string[]? Scope, string[]? Envs, long? ExpiresAt);

internal sealed record UpdateSecretRequest(string? Value, string? Description, string? TokenType, string[]? Scope, string[]? Envs, long? ExpiresAt, bool? Revoked);

internal sealed record RollbackRequest(int Version);

internal sealed record ValidateRequest(JsonElement Value);

internal sealed record ResolutionRequestShape(JsonElement Document, string App, string Env, string? Product);

internal sealed record CreateKeyRequest(string Name, string Role, string[]? Apps, string[]? Envs, long? ExpiresAt);

internal sealed record CreateWorkspaceRequest(string Name);

#pragma warning restore CA1812

/// <summary>Documents a JSON request body without constraining routing by content type (JsonBody answers 415 itself).</summary>
internal static class OpenApiBodyExtensions
{
    public static RouteHandlerBuilder WithJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = schema },
                },
            };
        });
}
