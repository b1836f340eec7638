using Latch.Client;
using Latch.Client.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="LatchClient"/>.</summary>
public static class LatchServiceCollectionExtensions
{
    private static readonly HashSet<HttpMethod> Idempotent = [HttpMethod.Get, HttpMethod.Head, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Options];

    /// <summary>
    /// Registers a singleton <see cref="LatchClient"/> over a named <see cref="HttpClient"/> (<see cref="LatchClient.HttpClientName"/>)
    /// with the standard resilience handler: retries only for idempotent methods (GET, HEAD, PUT, DELETE — never POST or PATCH,
    /// so an action or a rotation is never sent twice), a per-attempt and a total timeout, and a circuit breaker.
    /// The options are validated when the host starts.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets <see cref="LatchClientOptions.Url"/>, <see cref="LatchClientOptions.ApiKey"/>, ….</param>
    /// <returns>The HTTP client builder, to add handlers.</returns>
    public static IHttpClientBuilder AddLatchClient(this IServiceCollection services, Action<LatchClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<LatchClientOptions>()
            .Configure(configure)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LatchClientOptions>, LatchClientOptionsValidator>());

        var builder = services.AddHttpClient(LatchClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) });
        builder.AddStandardResilienceHandler().Configure((resilience, provider) =>
        {
            LatchClientOptions options;
            try
            {
                options = provider.GetRequiredService<IOptions<LatchClientOptions>>().Value;
            }
            catch (OptionsValidationException)
            {
                // Reported once, by LatchClientOptions' own start-up validation; not again for the pipeline.
                return;
            }

            resilience.TotalRequestTimeout.Timeout = options.Timeout;
            resilience.AttemptTimeout.Timeout = options.AttemptTimeout;
            // The standard pipeline requires the breaker's sampling window to be at least twice the attempt timeout.
            resilience.CircuitBreaker.SamplingDuration = options.AttemptTimeout * 2;
            resilience.Retry.MaxRetryAttempts = Math.Max(options.MaxRetryAttempts, 1);
            var transient = resilience.Retry.ShouldHandle;
            var retries = options.MaxRetryAttempts;
            resilience.Retry.ShouldHandle = async args =>
                retries > 0
                && args.Context.GetRequestMessage() is { } request
                && Idempotent.Contains(request.Method)
                && await transient(args);
        });

        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<LatchClientOptions>>().Value;
            var factory = provider.GetRequiredService<IHttpClientFactory>();
            return new LatchClient(LatchClient.Create(() => factory.CreateClient(LatchClient.HttpClientName), options.Url!, options.ApiKey!, null));
        });
        return builder;
    }

    private sealed class LatchClientOptionsValidator : IValidateOptions<LatchClientOptions>
    {
        public ValidateOptionsResult Validate(string? name, LatchClientOptions options)
        {
            var errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
