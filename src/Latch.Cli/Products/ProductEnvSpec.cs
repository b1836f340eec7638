using System.Text.Json.Nodes;

namespace Latch.Cli.Products;

/// <summary>
/// <c>--env slug[:Name][:inactive]</c>: a product environment given on the command line. The name defaults to the slug;
/// a last part <c>active</c> or <c>inactive</c> sets the state (active by default). A name may itself contain ':'.
/// </summary>
internal static class ProductEnvSpec
{
    public const string Help = "An environment: slug[:Name][:inactive], e.g. prd:Production or snd:Sandbox:inactive (repeatable)";

    public static JsonObject Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split(':').ToList();
        var active = true;
        if (parts.Count > 1 && parts[^1].Trim() is var last
            && (last.Equals("inactive", StringComparison.OrdinalIgnoreCase) || last.Equals("active", StringComparison.OrdinalIgnoreCase)))
        {
            active = last.Equals("active", StringComparison.OrdinalIgnoreCase);
            parts.RemoveAt(parts.Count - 1);
        }

        var slug = parts[0].Trim();
        if (slug.Length == 0)
        {
            throw new CliUsageException($"--env '{spec}': the environment slug is empty (expected slug[:Name][:inactive])");
        }

        var name = string.Join(':', parts.Skip(1)).Trim();
        if (parts.Count > 1 && name.Length == 0)
        {
            throw new CliUsageException($"--env '{spec}': the environment name is empty (leave it out to use the slug)");
        }

        return new JsonObject { ["slug"] = slug, ["env_name"] = name.Length == 0 ? slug : name, ["active"] = active };
    }

    public static JsonArray ParseAll(IEnumerable<string> specs)
    {
        var envs = new JsonArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var env = Parse(spec);
            var slug = (string)env["slug"]!;
            if (!seen.Add(slug))
            {
                throw new CliUsageException($"--env: the environment '{slug}' is given twice");
            }

            envs.Add(env);
        }

        return envs;
    }
}
