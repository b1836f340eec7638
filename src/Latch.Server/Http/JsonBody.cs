using System.Globalization;
using System.Text.Json;
using Latch.Core;
using Microsoft.AspNetCore.Http.Features;

namespace Latch.Server.Http;

/// <summary>
/// Reads a request body as JSON with Latch's limits: size (413), nesting depth, no duplicate properties,
/// an object at the root. Error messages say where, never echo the content.
/// </summary>
internal static class JsonBody
{
    public const int MaxDepth = 64;

    public sealed record Limits(long MaxBytes);

    public static async Task<(JsonDocument? Document, IResult? Problem)> ReadObjectAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var (document, _, problem) = await ReadObjectWithBodyAsync(context, cancellationToken);
        return (document, problem);
    }

    /// <summary>
    /// Like <see cref="ReadObjectAsync"/>, and also the body the document was parsed from (it is not copied: the document
    /// and its elements point into it; nothing writes to it afterwards).
    /// </summary>
    public static async ValueTask<(JsonDocument? Document, ReadOnlyMemory<byte> Body, IResult? Problem)> ReadObjectWithBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var contentType = context.Request.ContentType;
        if (contentType is not null && !IsJson(contentType))
        {
            return (null, default, Problems.Of(415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'"));
        }

        var limit = context.RequestServices.GetRequiredService<Limits>().MaxBytes;
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return (null, default, TooLarge(limit));
        }

        ReadOnlyMemory<byte> body;
        try
        {
            body = await BoundedRead.ReadAsync(context.Request.Body, declared, limit, cancellationToken);
        }
        catch (InvalidDataException)
        {
            return (null, default, TooLarge(limit));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, default, TooLarge(limit));
        }

        var (document, problem) = Parse(body);
        return (document, body, problem);
    }

    private static (JsonDocument? Document, IResult? Problem) Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Length == 0)
        {
            return (null, Problems.Of(400, "invalid_json", "The request body is empty; send a JSON object"));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            return (null, Problems.Of(400, "invalid_json", $"The request body is not valid JSON ({Reason(e)} at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1})"));
        }
        catch (InvalidOperationException)
        {
            // The duplicate-property check unescapes every property name, and throws for one holding a lone surrogate
            // escape such as "\uD800" (syntactically valid JSON, but no .NET string can hold it).
            return (null, Problems.From(LatchError.Invalid("$", "property names must be valid Unicode text (one contains an unpaired surrogate escape)")));
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, Problems.From(LatchError.Invalid("$", "the body must be a JSON object")));
        }

        if (MayHoldSurrogateEscape(body.Span) && InvalidTextPath(document.RootElement) is { } field)
        {
            document.Dispose();
            return (null, Problems.From(LatchError.Invalid(field, "must be valid Unicode text (it contains an unpaired surrogate escape)")));
        }

        return (document, null);
    }

    /// <summary>
    /// JSON allows escapes such as a lone <c>\uD800</c> that no .NET string can hold: reading such a property name or string
    /// later throws, deep inside whatever handles the field (a 500). Cheap test first: only a body with a <c>\uD…</c> escape
    /// can hold one.
    /// </summary>
    private static bool MayHoldSurrogateEscape(ReadOnlySpan<byte> body)
    {
        var at = body.IndexOf("\\u"u8);
        while (at >= 0 && at + 3 < body.Length)
        {
            if (body[at + 2] is (byte)'d' or (byte)'D' && body[at + 3] is (byte)'8' or (byte)'9' or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F'))
            {
                return true;
            }

            var next = body[(at + 2)..].IndexOf("\\u"u8);
            at = next < 0 ? -1 : at + 2 + next;
        }

        return false;
    }

    /// <summary>The field (<c>document.a[0]</c>) of the first property name or string that is not valid Unicode text, or null.</summary>
    private static string? InvalidTextPath(JsonElement root)
    {
        var trail = new List<string>();
        if (!FindInvalidText(root, trail))
        {
            return null;
        }

        trail.Reverse();
        var path = string.Concat(trail).TrimStart('.');
        path = new string(path.Where(c => !char.IsControl(c)).Take(200).ToArray());
        return path.Length == 0 ? "$" : path;
    }

    // Depth is bounded by MaxDepth; the path is built only on the way back from a find.
    private static bool FindInvalidText(JsonElement element, List<string> trail)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return true;
                    }

                    if (FindInvalidText(property.Value, trail))
                    {
                        trail.Add("." + name);
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindInvalidText(item, trail))
                    {
                        trail.Add(string.Create(CultureInfo.InvariantCulture, $"[{index}]"));
                        return true;
                    }

                    index++;
                }

                return false;
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return false;
                }
                catch (InvalidOperationException)
                {
                    return true;
                }

            default:
                return false;
        }
    }

    private static string Reason(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("depth", StringComparison.OrdinalIgnoreCase))
        {
            return $"nested deeper than {MaxDepth} levels";
        }

        if (message.Contains("uplicate", StringComparison.Ordinal))
        {
            return "a property appears twice";
        }

        return "syntax error";
    }

    private static IResult TooLarge(long limit) =>
        Problems.Of(413, "payload_too_large", $"The request body is larger than the limit of {limit} bytes");

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        mediaType = (semicolon < 0 ? mediaType : mediaType[..semicolon]).Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    public static void UseBodyLimit(this WebApplication app, long limit)
    {
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = limit;
            }

            return next(context);
        });
    }
}
