using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Latch.Client.Configuration;

/// <summary>
/// Loads a product app's resolved variables for one environment (<c>GET /v1/products/{p}/apps/{a}/variables?env=E</c>)
/// as configuration keys, and reloads them on <see cref="LatchConfigurationOptions.ReloadInterval"/>. The first load
/// throws <see cref="LatchConfigurationException"/> so start-up fails; a failed background reload keeps the last good values.
/// </summary>
public sealed class LatchConfigurationProvider : ConfigurationProvider, IDisposable
{
    private readonly LatchConfigurationOptions _options;
    private readonly LatchClient _client;
    private readonly bool _ownsClient;
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private int _reloading;
    private bool _disposed;

    /// <summary>Creates the provider (the configuration builder calls this through <see cref="LatchConfigurationSource"/>).</summary>
    /// <param name="options">What to load.</param>
    /// <exception cref="LatchConfigurationException">A required option is missing.</exception>
    public LatchConfigurationProvider(LatchConfigurationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var missing = new List<string>();
        if (options.Client is null)
        {
            if (options.Url is null || !options.Url.IsAbsoluteUri || (options.Url.Scheme != Uri.UriSchemeHttp && options.Url.Scheme != Uri.UriSchemeHttps))
            {
                missing.Add("Url (an absolute http or https address)");
            }

            if (string.IsNullOrWhiteSpace(options.ApiKey))
            {
                missing.Add("ApiKey");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Product))
        {
            missing.Add("Product");
        }

        if (string.IsNullOrWhiteSpace(options.App))
        {
            missing.Add("App");
        }

        if (string.IsNullOrWhiteSpace(options.Env))
        {
            missing.Add("Env");
        }

        if (options.ReloadInterval is { } interval && interval <= TimeSpan.Zero)
        {
            missing.Add("ReloadInterval (positive, or null to load once)");
        }

        if (missing.Count > 0)
        {
            throw new LatchConfigurationException($"AddLatch needs {string.Join(", ", missing)}.");
        }

        _options = options;
        _ownsClient = options.Client is null;
        _client = options.Client ?? new LatchClient(options.Url!, options.ApiKey!);
    }

    /// <summary>When the last successful load happened.</summary>
    public DateTimeOffset? LastLoadedAt { get; private set; }

    /// <summary>Loads the variables now (blocking). Throws <see cref="LatchConfigurationException"/> on failure.</summary>
    public override void Load()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Configuration loading is synchronous; there is no synchronization context at start-up.
        Data = FetchAsync(_stopping.Token).GetAwaiter().GetResult();
        LastLoadedAt = _options.TimeProvider.GetUtcNow();
        if (_timer is null && _options.ReloadInterval is { } interval)
        {
            _timer = _options.TimeProvider.CreateTimer(_ => _ = ReloadAsync(), null, interval, interval);
        }
    }

    /// <summary>Stops reloading.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _timer?.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{GetType().Name} ({_options.Product}/{_options.App}/{_options.Env}{(_options.Prefix is null ? "" : " under " + _options.Prefix)})";

    private async Task ReloadAsync()
    {
        if (Interlocked.Exchange(ref _reloading, 1) == 1)
        {
            return;
        }

        try
        {
            var data = await FetchAsync(_stopping.Token);
            LastLoadedAt = _options.TimeProvider.GetUtcNow();
            if (!Same(data, Data))
            {
                Data = data;
                OnReload();
            }
        }
        catch (LatchConfigurationException e) when (!_disposed)
        {
            try
            {
                _options.OnReloadError?.Invoke(e);
            }
#pragma warning disable CA1031 // A failing callback must not stop the reloads (it runs on a timer thread).
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
        catch (Exception) when (_disposed)
        {
        }
        finally
        {
            Volatile.Write(ref _reloading, 0);
        }
    }

    private async Task<Dictionary<string, string?>> FetchAsync(CancellationToken cancellationToken)
    {
        ResolvedVariables variables;
        try
        {
            variables = await _client.Product(_options.Product!).GetVariablesAsync(_options.App!, _options.Env!, _options.OptionalVariables, cancellationToken);
        }
        catch (LatchException e)
        {
            throw new LatchConfigurationException(Describe(e), e);
        }

        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in variables.Variables)
        {
            var key = name.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            data[_options.Prefix is { Length: > 0 } prefix ? ConfigurationPath.Combine(prefix, key) : key] = value.Reveal();
        }

        return data;
    }

    private string Describe(LatchException e)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture,
            $"Latch could not load the variables of app '{_options.App}' in environment '{_options.Env}' of product '{_options.Product}' ({e.Code}, HTTP {(int)e.Status})");
        if (e.ReferenceErrors.Count > 0)
        {
            text.Append(':');
            foreach (var error in e.ReferenceErrors)
            {
                text.Append(CultureInfo.InvariantCulture, $"\n  {error.Path} ({error.Key ?? "?"}): {error.Message} [{error.Code}]");
            }
        }
        else
        {
            text.Append(": ").Append(e.Detail);
        }

        return text.ToString();
    }

    private static bool Same(Dictionary<string, string?> next, IDictionary<string, string?> current) =>
        next.Count == current.Count && next.All(pair => current.TryGetValue(pair.Key, out var value) && string.Equals(value, pair.Value, StringComparison.Ordinal));
}

/// <summary>The <see cref="IConfigurationSource"/> that <c>AddLatch</c> adds.</summary>
public sealed class LatchConfigurationSource : IConfigurationSource
{
    /// <summary>Creates the source.</summary>
    /// <param name="options">What to load.</param>
    public LatchConfigurationSource(LatchConfigurationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>What to load.</summary>
    public LatchConfigurationOptions Options { get; }

    /// <summary>Builds the provider.</summary>
    /// <param name="builder">The configuration builder.</param>
    /// <returns>The provider.</returns>
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new LatchConfigurationProvider(Options);
}
