using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Latch.Core.Webhooks;

namespace Latch.Core.Runtime;

/// <summary>An app: a third-party API definition (SPEC §4).</summary>
public sealed record AppDefinition(
    string AccessTag,
    string Name,
    IReadOnlyList<AppEnvironment> Envs,
    IReadOnlyList<AuthDefinition>? Auths = null,
    IReadOnlyList<ActionDefinition>? Actions = null);

/// <summary>An app environment: where its API lives.</summary>
public sealed record AppEnvironment(string Slug, string BaseUrl);

/// <summary>How an app authenticates: header and query templates using <c>$Auth{FIELD}</c>.</summary>
public sealed record AuthDefinition(string Tag, IReadOnlyDictionary<string, string>? Headers = null, IReadOnlyDictionary<string, string>? Query = null);

/// <summary>An action: an event mapped to a method and a path with <c>{param}</c> placeholders, with default headers, query and body.</summary>
public sealed record ActionDefinition(
    string Event,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string>? Headers = null,
    IReadOnlyDictionary<string, string>? Query = null,
    JsonElement? Body = null);

/// <summary>A product and its environments.</summary>
public sealed record ProductDefinition(string Tag, string Name, IReadOnlyList<ProductEnvironment> Envs);

/// <summary>A product environment; an inactive one refuses to run actions.</summary>
public sealed record ProductEnvironment(string Slug, string EnvName, bool Active = true);

/// <summary><c>product.apps.add</c>: an app connected to a product, per product environment.</summary>
public sealed record ProductAppConfig(string AccessTag, IReadOnlyList<ProductAppEnvironment> Envs);

/// <summary>Which app environment a product environment uses, with its variables and auth data (values may hold <c>$Token{…}</c>).</summary>
public sealed record ProductAppEnvironment(
    string AppEnvSlug,
    string ProductEnvSlug,
    IReadOnlyList<ProductAppVariable>? Variables = null,
    IReadOnlyList<ProductAppAuth>? Auth = null);

/// <summary>A variable for <c>$Variable{KEY}</c>.</summary>
public sealed record ProductAppVariable(string Key, string Value);

/// <summary>Auth data for an auth definition, used by <c>$Auth{FIELD}</c>.</summary>
public sealed record ProductAppAuth(string AuthTag, IReadOnlyDictionary<string, string> Data);

/// <summary>JSON settings for configuration documents: snake_case, strict (unknown members and missing required ones are errors).</summary>
public static class ConfigJson
{
    /// <summary>The options used to read requests and to store documents.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowDuplicateProperties = false,
        MaxDepth = 64,
        NumberHandling = JsonNumberHandling.Strict,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Source-generated metadata for every configuration document; reflection only for a type not listed there.
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ConfigJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };

    /// <summary>Serializes a configuration for storage.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Reads a stored configuration (validated when written).</summary>
    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new InvalidOperationException($"Stored {typeof(T).Name} is empty.");
}

/// <summary>
/// Source-generated metadata for the configuration documents <see cref="ConfigJson"/> reads and stores. Used through
/// <see cref="ConfigJson.Options"/>, whose settings (strict reading, nulls left out) apply on top.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    MaxDepth = 64,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(AppDefinition))]
[JsonSerializable(typeof(ProductDefinition))]
[JsonSerializable(typeof(ProductAppConfig))]
[JsonSerializable(typeof(WebhookDefinition))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
