using System.Text.Json;
using Latch.Core.Runtime;
using Latch.Core.Validation;
using Latch.Server.Access;
using Latch.Server.Http;

namespace Latch.Server.Runtime;

/// <summary><c>POST /v1/actions/run</c> (SPEC §4).</summary>
internal static class ActionsApi
{
    private const int MaxRetries = 5;

    public static void MapActions(this RouteGroupBuilder v1) =>
        v1.MapPost("/actions/run", RunAsync).WithTags("Actions").RequireRole(Authentication.Resolvers)
            .WithJsonBody<ActionRunShape>().Produces<ActionRunResponse>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(404)
            .ProducesProblem(409).ProducesProblem(422).ProducesProblem(502).ProducesProblem(504)
            .WithSummary("actions.run: build, resolve, send, mask");

    private static async Task<IResult> RunAsync(HttpContext context, ActionRunner runner)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var env = Tag(fields, "env");
            var product = Tag(fields, "product");
            var app = Tag(fields, "app");
            var eventName = Tag(fields, "event");
            var authTag = fields.OptionalString("auth_tag", 64).Value;
            if (authTag is not null && !Names.IsTag(authTag))
            {
                fields.Fail("auth_tag", "must be an auth tag");
            }

            var retries = fields.Has("retries") && document.RootElement.GetProperty("retries").ValueKind != JsonValueKind.Null
                ? fields.RequiredInt("retries", 0, MaxRetries)
                : 0;
            ActionInput input = new();
            if (fields.Has("input"))
            {
                var element = document.RootElement.GetProperty("input");
                if (element.ValueKind != JsonValueKind.Object)
                {
                    fields.Fail("input", "must be an object");
                }
                else
                {
                    var inner = new FieldReader(element);
                    input = new ActionInput(
                        Strings(inner, "headers"),
                        Strings(inner, "query"),
                        Strings(inner, "params"),
                        inner.Has("body") ? element.GetProperty("body").Clone() : null);
                    foreach (var name in input.Headers?.Keys ?? [])
                    {
                        if (ConfigValidation.IsReservedHeader(name))
                        {
                            fields.Fail("input.headers", ConfigValidation.ReservedHeaderMessage(name));
                        }
                    }

                    if (inner.Error is { } innerError)
                    {
                        foreach (var (field, messages) in innerError.Fields!)
                        {
                            foreach (var message in messages)
                            {
                                fields.Fail($"input.{field}", message);
                            }
                        }
                    }
                }
            }

            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var caller = context.Caller();
            if (caller.CheckBinding(app!, env!) is { } denied)
            {
                return denied;
            }

            var result = await runner.RunAsync(caller.WorkspaceId, new ActionRunRequest(env!, product!, app!, eventName!, authTag, retries ?? 0, input), caller.Actor, context.RequestAborted);
            if (!result.IsSuccess)
            {
                return Problems.From(result.Error!);
            }

            context.Response.Headers.CacheControl = "no-store";
            return TypedResults.Ok(result.Value);
        }
    }

    private static string? Tag(FieldReader fields, string name)
    {
        var value = fields.RequiredString(name, 64);
        if (value is not null && !Names.IsTag(value))
        {
            fields.Fail(name, "may contain only letters, digits, '_', '.' and '-'");
        }

        return value;
    }

    private static Dictionary<string, string>? Strings(FieldReader inner, string name) => inner.StringMap(name, 100, 8 * 1024);
}

#pragma warning disable CA1812 // OpenAPI shape only.
internal sealed record ActionRunInputShape(Dictionary<string, string>? Headers, Dictionary<string, string>? Query, Dictionary<string, string>? Params, JsonElement? Body);

internal sealed record ActionRunShape(string Env, string Product, string App, string Event, string? AuthTag, int? Retries, ActionRunInputShape? Input);
#pragma warning restore CA1812
