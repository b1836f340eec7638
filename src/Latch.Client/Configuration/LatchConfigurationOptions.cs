namespace Latch.Client.Configuration;

/// <summary>What <c>AddLatch</c> loads: one product app's variables for one environment.</summary>
public sealed class LatchConfigurationOptions
{
    private readonly HashSet<string> _optional = new(StringComparer.Ordinal);

    /// <summary>The server, e.g. <c>https://latch.example.com</c>.</summary>
    public Uri? Url { get; set; }

    /// <summary>An API key allowed to resolve for this app and environment (runtime, admin or owner).</summary>
    public string? ApiKey { get; set; }

    /// <summary>The product tag.</summary>
    public string? Product { get; set; }

    /// <summary>The app's access tag.</summary>
    public string? App { get; set; }

    /// <summary>The product environment slug, e.g. <c>prd</c>.</summary>
    public string? Env { get; set; }

    /// <summary>How often to reload (a rotation then shows through <c>IOptionsMonitor</c>); null loads once.</summary>
    public TimeSpan? ReloadInterval { get; set; }

    /// <summary>
    /// A section to put the variables under, e.g. <c>Latch</c> gives <c>Latch:DB_PASSWORD</c>. Null puts them at the root.
    /// Either way <c>__</c> in a variable name becomes <c>:</c> (as with environment variables), so
    /// <c>ConnectionStrings__Db</c> binds to <c>ConnectionStrings:Db</c>.
    /// </summary>
    public string? Prefix { get; set; }

    /// <summary>The client to load with (its server and key are used instead of <see cref="Url"/> and <see cref="ApiKey"/>); the provider does not dispose it.</summary>
    public LatchClient? Client { get; set; }

    /// <summary>The clock driving <see cref="ReloadInterval"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Called when a background reload fails; the last good values are kept.</summary>
    public Action<LatchConfigurationException>? OnReloadError { get; set; }

    /// <summary>Variables that are left out, rather than failing the load, when their references do not resolve.</summary>
    public IReadOnlyCollection<string> OptionalVariables => _optional;

    /// <summary>Marks variables as optional: left out when their references do not resolve.</summary>
    /// <param name="keys">Variable names.</param>
    /// <returns>These options.</returns>
    public LatchConfigurationOptions Optional(params string[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            _optional.Add(key);
        }

        return this;
    }
}
