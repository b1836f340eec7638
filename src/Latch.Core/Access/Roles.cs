namespace Latch.Core.Access;

/// <summary>The four roles of SPEC §5.</summary>
public static class Roles
{
    /// <summary>Everything, API keys included.</summary>
    public const string Owner = "owner";
    /// <summary>Secrets, apps, products, webhooks, reveal.</summary>
    public const string Admin = "admin";
    /// <summary>Run actions, check, resolve.</summary>
    public const string Runtime = "runtime";
    /// <summary>Read metadata, usage, audit.</summary>
    public const string Viewer = "viewer";

    /// <summary>All roles.</summary>
    public static IReadOnlyList<string> All { get; } = [Owner, Admin, Runtime, Viewer];
}
