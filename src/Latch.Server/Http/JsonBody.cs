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
        var contentType = context.Request.ContentType;
        if (contentType is not null && !IsJson(contentType))
        {
            return (null, Problems.Of(415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'"));
        }

        var limit = context.RequestServices.GetRequiredService<Limits>().MaxBytes;
        if (context.Request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return (null, TooLarge(limit));
                }

                buffer.Write(chunk, 0, read);
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(limit));
        }

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

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, Problems.From(LatchError.Invalid("$", "the body must be a JSON object")));
        }

        return (document, null);
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
        var mediaType = contentType.Split(';', 2)[0].Trim();
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
