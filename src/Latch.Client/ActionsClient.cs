using System.Text.Json.Nodes;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary><c>actions.run</c>: Latch builds an app's request, resolves every reference, sends it and answers the masked response.</summary>
public class ActionsClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected ActionsClient()
    {
    }

    internal ActionsClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Runs an action. Never retried by the SDK (it is a POST); ask the server for upstream retries with <see cref="RunActionRequest.Retries"/>.</summary>
    /// <param name="request">Environment, product, app, event and input.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The upstream's status, headers and body, with every resolved value masked as <c>***</c>.</returns>
    /// <exception cref="LatchException">422 with <see cref="LatchException.ReferenceErrors"/> (nothing sent); 502 upstream unreachable; 504 upstream timeout.</exception>
    public virtual Task<ActionRunResult> RunAsync(RunActionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Transport.SendAsync<ActionRunResult>(HttpMethod.Post, "v1/actions/run", request, cancellationToken);
    }
}

/// <summary>What <see cref="ActionsClient.RunAsync"/> sends.</summary>
/// <param name="Env">The product environment.</param>
/// <param name="Product">The product.</param>
/// <param name="App">The app's access tag.</param>
/// <param name="Event">The action's event, e.g. <c>create_charge</c>.</param>
public sealed record RunActionRequest(string Env, string Product, string App, string Event)
{
    /// <summary>Which auth definition to use (default: the product app's first).</summary>
    public string? AuthTag { get; init; }

    /// <summary>Upstream retries the server may make for idempotent methods (0–5).</summary>
    public int? Retries { get; init; }

    /// <summary>Headers, query, path parameters and body added last.</summary>
    public ActionInput? Input { get; init; }
}

/// <summary>The caller's part of an action request (may hold <c>$Token{…}</c>).</summary>
public sealed record ActionInput
{
    /// <summary>Headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Query parameters.</summary>
    public IReadOnlyDictionary<string, string>? Query { get; init; }

    /// <summary>Values for the path's <c>{param}</c> placeholders.</summary>
    public IReadOnlyDictionary<string, string>? Params { get; init; }

    /// <summary>The JSON body.</summary>
    public JsonNode? Body { get; init; }
}

/// <summary>The upstream's answer, masked.</summary>
/// <param name="Status">The upstream's HTTP status.</param>
/// <param name="Headers">Its headers.</param>
/// <param name="Body">Its body when JSON or text.</param>
/// <param name="BodyBase64">Its body in base64 when binary.</param>
/// <param name="DurationMs">How long the run took.</param>
/// <param name="RequestId">Latch's request id (in the audit log).</param>
public sealed record ActionRunResult(int Status, IReadOnlyDictionary<string, string> Headers, JsonNode? Body, string? BodyBase64, long DurationMs, string RequestId);
