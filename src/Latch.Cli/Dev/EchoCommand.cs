using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Latch.Cli.Dev;

/// <summary>
/// <c>latch echo</c>: a stand-in third-party API for trying actions locally. It answers every request with a JSON
/// description of what it received and prints one line per request. It plays the upstream, which is exactly where
/// resolved values are meant to arrive — never point real credentials at it on a shared machine.
/// </summary>
internal static class EchoCommand
{
    public static Command Create(CliEnvironment env)
    {
        var urls = new Option<string?>("--urls") { Description = "Listen address (default http://127.0.0.1:5090)" };
        var command = new Command("echo", "Run a local echo API that answers with what it received (to try actions)") { urls };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(parse.GetValue(urls) ?? "http://127.0.0.1:5090");
            builder.Logging.ClearProviders();
            await using var app = builder.Build();
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync(context.RequestAborted);
                var target = context.Request.Path + context.Request.QueryString;
                await env.Out.WriteLineAsync($"{context.Request.Method} {target}");
                await context.Response.WriteAsJsonAsync(new
                {
                    method = context.Request.Method,
                    target = target.ToString(),
                    headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()),
                    body,
                }, JsonSerializerOptions.Web, context.RequestAborted);
            });
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                await env.Error.WriteLineAsync($"Error: {e.Message}");
                return ExitCodes.Failure;
            }

            await env.Out.WriteLineAsync($"Echo API listening on {string.Join(", ", app.Urls)} (Ctrl+C to stop)");
            await app.WaitForShutdownAsync(cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
