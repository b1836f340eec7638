using System.Net;

namespace Latch.Client;

/// <summary>
/// The one exception the SDK throws for a failed call: the server's problem (status, <see cref="Code"/>, <see cref="Detail"/>,
/// field or per-reference errors) or a transport failure (<see cref="Status"/> 0). Its message is the server's
/// <c>detail</c>, which never holds a secret value.
/// </summary>
public class LatchException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public LatchException()
        : this("The Latch call failed")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public LatchException(string message)
        : base(message)
    {
        Detail = message;
        Code = "error";
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public LatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Detail = message;
        Code = "error";
    }

    /// <summary>Creates an exception from a server problem.</summary>
    /// <param name="status">The HTTP status, or 0 when no answer came.</param>
    /// <param name="code">The stable error code, e.g. <c>secret_not_found</c>.</param>
    /// <param name="detail">The server's message.</param>
    /// <param name="fieldErrors">Validation errors by field, if any.</param>
    /// <param name="referenceErrors">Resolution errors per reference, if any.</param>
    /// <param name="innerException">The cause, if any.</param>
    public LatchException(
        HttpStatusCode status,
        string code,
        string detail,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? fieldErrors = null,
        IReadOnlyList<LatchReferenceError>? referenceErrors = null,
        Exception? innerException = null)
        : base(detail, innerException)
    {
        Status = status;
        Code = code;
        Detail = detail;
        FieldErrors = fieldErrors ?? new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        ReferenceErrors = referenceErrors ?? [];
    }

    /// <summary>The HTTP status; 0 when the server could not be reached or did not answer in time.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The stable error code, e.g. <c>secret_not_found</c>, <c>version_conflict</c>, <c>unreachable</c>, <c>timeout</c>.</summary>
    public string Code { get; }

    /// <summary>The server's message (<c>detail</c>), e.g. <c>Secret 'MY_SECRET' not found</c>.</summary>
    public string Detail { get; }

    /// <summary>For invalid input (400): the messages for each field.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> FieldErrors { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>For a failed resolution (422, or 500 <c>secret_integrity</c>): every failing reference.</summary>
    public IReadOnlyList<LatchReferenceError> ReferenceErrors { get; } = [];
}

/// <summary>One failing reference: where it is, which secret, why.</summary>
/// <param name="Path">The JSON path, e.g. <c>$.headers.Authorization</c>.</param>
/// <param name="Key">The secret key, when the reference is well formed.</param>
/// <param name="Code">The code, e.g. <c>secret_not_found</c>.</param>
/// <param name="Message">The message, e.g. <c>Secret 'MY_SECRET' not found</c>.</param>
public sealed record LatchReferenceError(string Path, string? Key, string Code, string Message);
