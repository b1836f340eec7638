namespace Latch.Client.Configuration;

/// <summary>Latch configuration could not be loaded: names each failing variable path and secret key with the server's message, never a value.</summary>
public class LatchConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LatchConfigurationException()
        : this("Latch configuration could not be loaded")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public LatchConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, usually a <see cref="LatchException"/>.</param>
    public LatchConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ReferenceErrors = (innerException as LatchException)?.ReferenceErrors ?? [];
    }

    /// <summary>Every failing reference (path such as <c>$.DB_PASSWORD</c>, secret key, code, message).</summary>
    public IReadOnlyList<LatchReferenceError> ReferenceErrors { get; } = [];
}
