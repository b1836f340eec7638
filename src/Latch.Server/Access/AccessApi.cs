using Latch.Core.Access;
using Latch.Core.Storage;
using Latch.Core.Validation;
using Latch.Server.Http;

namespace Latch.Server.Access;

/// <summary><c>/v1/workspace</c>, <c>/v1/workspaces</c> and <c>/v1/keys</c> (SPEC §5).</summary>
internal static class AccessApi
{
    public static void MapAccess(this RouteGroupBuilder v1)
    {
        v1.MapGet("/workspace", GetWorkspaceAsync).WithTags("Access").Produces<WorkspaceResponse>().RequireRole(Authentication.Anyone);
        v1.MapPost("/workspaces", CreateWorkspaceAsync).WithTags("Access").WithJsonBody<CreateWorkspaceRequest>().Produces<CreatedWorkspaceResponse>(201).ProducesProblem(403).ProducesProblem(409).RequireRole(Roles.Owner);
        var keys = v1.MapGroup("/keys").WithTags("Access").RequireRole(Roles.Owner);
        keys.MapPost("", CreateKeyAsync).WithJsonBody<CreateKeyRequest>().Produces<ApiKeyResponse>(201).ProducesProblem(400);
        keys.MapGet("", ListKeysAsync).Produces<ListResponse<ApiKeyResponse>>();
        keys.MapDelete("/{id}", RevokeKeyAsync).Produces(204).ProducesProblem(404);
    }

    private static async Task<IResult> GetWorkspaceAsync(HttpContext context, AccessService access)
    {
        var workspace = await access.GetWorkspaceAsync(context.Caller().WorkspaceId, context.RequestAborted);
        return workspace is null
            ? Problems.Of(404, "workspace_not_found", "Workspace not found")
            : TypedResults.Ok(new WorkspaceResponse(workspace.Id, workspace.Name));
    }

    private static async Task<IResult> CreateWorkspaceAsync(HttpContext context, AccessService access)
    {
        var caller = context.Caller();
        if (!caller.Key.IsBootstrap)
        {
            return Problems.Of(403, "forbidden", "Only the bootstrap key may create workspaces");
        }

        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var name = fields.RequiredString("name", 64);
            if (name is not null && !Names.IsTag(name))
            {
                fields.Fail("name", "may contain only letters, digits, '_', '.' and '-' (1-64, starting with a letter, digit or '_')");
            }

            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var created = await access.CreateWorkspaceAsync(name!, caller.Actor, context.RequestAborted);
            if (!created.IsSuccess)
            {
                return Problems.From(created.Error!);
            }

            var (workspace, owner) = created.Value;
            return TypedResults.Created($"/v1/workspace", new CreatedWorkspaceResponse(workspace.Id, workspace.Name, owner.Token.Reveal()));
        }
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext context, AccessService access)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var name = fields.RequiredString("name", 100);
            if (name is { Length: 0 })
            {
                fields.Fail("name", "must not be empty");
            }

            var role = fields.RequiredString("role", 20);
            if (role is not null && !Roles.All.Contains(role, StringComparer.Ordinal))
            {
                fields.Fail("role", "must be one of owner, admin, runtime, viewer");
            }

            var apps = fields.StringArray("apps", Names.IsTag, "must be an app access tag");
            var envs = fields.StringArray("envs", Names.IsTag, "must be an environment slug");
            var expires = fields.UnixSeconds("expires_at");
            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var draft = new ApiKeyDraft(name!, role!, apps.IsSet ? apps.Value : [], envs.IsSet ? envs.Value : [], expires.Value);
            var issued = await access.CreateKeyAsync(context.Caller().WorkspaceId, draft, context.Caller().Actor, context.RequestAborted);
            if (!issued.IsSuccess)
            {
                return Problems.From(issued.Error!);
            }

            var key = issued.Value!;
            return TypedResults.Created($"/v1/keys/{key.Key.Id}", ApiKeyResponse.From(key.Key, key.Token.Reveal()));
        }
    }

    private static async Task<IResult> ListKeysAsync(HttpContext context, AccessService access)
    {
        var keys = await access.ListKeysAsync(context.Caller().WorkspaceId, context.RequestAborted);
        return TypedResults.Ok(new ListResponse<ApiKeyResponse>(keys.Select(k => ApiKeyResponse.From(k, null)).ToList(), null));
    }

    private static async Task<IResult> RevokeKeyAsync(string id, HttpContext context, AccessService access)
    {
        var result = await access.RevokeKeyAsync(context.Caller().WorkspaceId, id, context.Caller().Actor, context.RequestAborted);
        return result.IsSuccess ? TypedResults.NoContent() : Problems.From(result.Error!);
    }
}

internal sealed record WorkspaceResponse(string Id, string Name);

internal sealed record CreatedWorkspaceResponse(string Id, string Name, string OwnerKey);

internal sealed record ApiKeyResponse(string Id, string Name, string Role, IReadOnlyList<string> Apps, IReadOnlyList<string> Envs, long? ExpiresAt, DateTime CreatedAt,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Key)
{
    public static ApiKeyResponse From(ApiKeyRecord record, string? key) =>
        new(record.Id, record.Name, record.Role, record.Apps, record.Envs, record.ExpiresAt, record.CreatedAt.UtcDateTime, key);
}

/// <summary>Every list: <c>{items, next_cursor}</c>.</summary>
internal sealed record ListResponse<T>(IReadOnlyList<T> Items, string? NextCursor);
