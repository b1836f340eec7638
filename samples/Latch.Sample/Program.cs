// A service that takes its configuration from Latch and calls a third-party API through it.
// Run with LATCH_URL, LATCH_API_KEY, LATCH_PRODUCT, LATCH_APP and LATCH_ENV set (see README "Use Latch from .NET").
using System.Text.Json.Nodes;
using Latch.Client;

var builder = WebApplication.CreateBuilder(args);
var settings = builder.Configuration;
var latchUrl = new Uri(Required(settings, "LATCH_URL"));
var latchKey = Required(settings, "LATCH_API_KEY");
var product = Required(settings, "LATCH_PRODUCT");
var app = Required(settings, "LATCH_APP");
var env = Required(settings, "LATCH_ENV");

// The app's variables for this environment, every $Token{…} resolved, under the "Latch" section
// (Latch:DB_PASSWORD, …). Start-up fails if one does not resolve; a rotation shows up within a minute.
builder.Configuration.AddLatch(o =>
{
    o.Url = latchUrl;
    o.ApiKey = latchKey;
    o.Product = product;
    o.App = app;
    o.Env = env;
    o.Prefix = "Latch";
    o.ReloadInterval = TimeSpan.FromMinutes(1);
});

builder.Services.AddLatchClient(o =>
{
    o.Url = latchUrl;
    o.ApiKey = latchKey;
});

var web = builder.Build();

// Which variables are configured: names and lengths, never values.
web.MapGet("/config", (IConfiguration configuration) =>
    configuration.GetSection("Latch").GetChildren()
        .OrderBy(v => v.Key, StringComparer.Ordinal)
        .Select(v => new { name = v.Key, length = v.Value?.Length ?? 0 }));

// Latch builds the request, resolves the credentials, sends it and answers with the (masked) upstream response.
web.MapPost("/charge", async (ChargeRequest charge, LatchClient latch, CancellationToken cancellationToken) =>
{
    try
    {
        var result = await latch.Actions.RunAsync(new RunActionRequest(env, product, app, "create_charge")
        {
            Input = new ActionInput { Body = new JsonObject { ["amount"] = charge.Amount, ["currency"] = charge.Currency } },
        }, cancellationToken);
        return Results.Ok(new { upstream_status = result.Status, request_id = result.RequestId });
    }
    catch (LatchException e)
    {
        // The detail names the failing secrets (never their values).
        return Results.Problem(detail: e.Detail, statusCode: e.Status == 0 ? 502 : (int)e.Status, extensions: new Dictionary<string, object?> { ["code"] = e.Code });
    }
});

web.Run();

static string Required(IConfiguration configuration, string name) =>
    configuration[name] is { Length: > 0 } value ? value : throw new InvalidOperationException($"Set {name}.");

/// <summary>The body of <c>POST /charge</c>.</summary>
internal sealed record ChargeRequest(int Amount, string Currency);
