using System.Globalization;

namespace Latch.Server.Http;

/// <summary>Query-string parameters shared by the list routes, with Latch's field-error messages.</summary>
internal static class QueryParameters
{
    /// <summary>The page size: <paramref name="defaultSize"/> when absent, an error unless 1..<paramref name="max"/>.</summary>
    public static int Limit(IQueryCollection query, int defaultSize, int max, Dictionary<string, string[]> errors)
    {
        if (!query.TryGetValue("limit", out var text))
        {
            return defaultSize;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit >= 1 && limit <= max)
        {
            return limit;
        }

        errors["limit"] = [$"must be an integer from 1 to {max}"];
        return defaultSize;
    }
}
