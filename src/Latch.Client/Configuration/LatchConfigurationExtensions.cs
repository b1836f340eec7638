using Latch.Client.Configuration;

namespace Microsoft.Extensions.Configuration;

/// <summary>Adds Latch as a configuration source.</summary>
public static class LatchConfigurationExtensions
{
    /// <summary>
    /// Loads a product app's variables for one environment, every <c>$Token{…}</c> resolved, as configuration keys
    /// (<c>DB_PASSWORD</c>, or <c>Prefix:DB_PASSWORD</c>). Start-up fails with <see cref="LatchConfigurationException"/> when a
    /// non-optional variable does not resolve; with <see cref="LatchConfigurationOptions.ReloadInterval"/> a rotation is picked up.
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="configure">Sets Url, ApiKey, Product, App, Env, and optionally ReloadInterval, Prefix and <c>Optional(…)</c>.</param>
    /// <returns>The builder.</returns>
    public static IConfigurationBuilder AddLatch(this IConfigurationBuilder builder, Action<LatchConfigurationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new LatchConfigurationOptions();
        configure(options);
        return builder.Add(new LatchConfigurationSource(options));
    }
}
