using Latch.Core.Observability;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Latch.Server.Observability;

/// <summary>Registers Latch's metrics, their Prometheus endpoint and the log events raised in Core.</summary>
internal static class ObservabilityExtensions
{
    /// <summary>Where Prometheus scrapes. Like <c>/healthz</c> it needs no API key: firewall it in production (docs/DECISIONS.md).</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>ASP.NET Core's own meter: request durations by route template, method and status (never a URL or query).</summary>
    private const string AspNetCoreHostingMeter = "Microsoft.AspNetCore.Hosting";

    public static IServiceCollection AddLatchObservability(this IServiceCollection services)
    {
        services.AddSingleton<ITelemetryLog, LatchLog>();
        services.AddSingleton<LatchTelemetry>();
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("latch"))
            .WithMetrics(m => m.AddMeter(LatchTelemetry.Name, AspNetCoreHostingMeter).AddPrometheusExporter());
        return services;
    }

    public static IEndpointConventionBuilder MapLatchMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(MetricsPath).ExcludeFromDescription();
}
