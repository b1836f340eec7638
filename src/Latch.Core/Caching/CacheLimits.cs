namespace Latch.Core.Caching;

/// <summary>How large the in-memory caches may grow. A cache that reaches its bound is emptied and refills with what is used.</summary>
public sealed record CacheLimits
{
    /// <summary>API keys (by hash) across every workspace.</summary>
    public int ApiKeys { get; init; } = 10_000;

    /// <summary>Secret policies (metadata needed for resolution, and "no such secret") per workspace.</summary>
    public int PoliciesPerWorkspace { get; init; } = 100_000;

    /// <summary>Decrypted values per workspace (one version per secret: the one last resolved).</summary>
    public int ValuesPerWorkspace { get; init; } = 10_000;

    /// <summary>Parsed configuration documents per workspace.</summary>
    public int ConfigsPerWorkspace { get; init; } = 10_000;

    /// <summary>Workspaces a cache keeps entries for at once.</summary>
    public int Workspaces { get; init; } = 1_000;

    /// <summary>The defaults.</summary>
    public static CacheLimits Default { get; } = new();
}
