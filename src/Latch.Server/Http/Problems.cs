using Latch.Core;
using Latch.Core.References;

namespace Latch.Server.Http;

/// <summary>RFC 9457 problem responses, each with a stable <c>code</c>.</summary>
internal static class Problems
{
    public static IResult Of(int status, string code, string detail, IDictionary<string, object?>? extra = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
            {
                extensions[name] = value;
            }
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: Title(status), extensions: extensions);
    }

    public static IResult From(LatchError error) => error.Kind switch
    {
        ErrorKind.Validation => Of(400, error.Code, error.Message, error.Fields is null ? null : new Dictionary<string, object?> { ["errors"] = error.Fields }),
        ErrorKind.Forbidden => Of(403, error.Code, error.Message),
        ErrorKind.NotFound => Of(404, error.Code, error.Message),
        ErrorKind.Conflict => Of(409, error.Code, error.Message),
        ErrorKind.PreconditionFailed => Of(412, error.Code, error.Message),
        ErrorKind.Integrity => Of(500, error.Code, error.Message, References(error.References)),
        ErrorKind.Unresolvable => Of(422, error.Code, error.Message, References(error.References)),
        ErrorKind.UpstreamUnreachable => Of(502, error.Code, error.Message),
        ErrorKind.UpstreamTimeout => Of(504, error.Code, error.Message),
        ErrorKind.AuditUnavailable => Of(503, error.Code, error.Message),
        _ => Of(500, "internal_error", "An unexpected error occurred"),
    };

    public static IResult Invalid(string field, string message) => From(LatchError.Invalid(field, message));

    private static Dictionary<string, object?>? References(IReadOnlyList<ReferenceError>? errors) =>
        errors is null ? null : new Dictionary<string, object?>
        {
            ["errors"] = errors.Select(e => new ReferenceProblem(e.Path, e.Key, e.Code, e.Message)).ToList(),
        };

    private static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        503 => "Service Unavailable",
        _ => "Error",
    };
}
