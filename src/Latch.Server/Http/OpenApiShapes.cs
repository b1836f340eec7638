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
