namespace Latch.Core.References;

/// <summary>
/// The bytes given to <see cref="ReferenceScanner.Scan"/> are not one valid UTF-8 JSON document (or nest too deep).
/// The message says what is wrong and where (byte offset, line); it never holds document content.
/// </summary>
public sealed class InvalidDocumentException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public InvalidDocumentException()
        : base("The document is not valid JSON.")
    {
    }

    /// <summary>Creates the exception with a message (which must not hold document content).</summary>
    public InvalidDocumentException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message (which must not hold document content) and a cause.</summary>
    public InvalidDocumentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a problem at a byte offset.</summary>
    internal InvalidDocumentException(string message, long byteOffset, long line, long bytePositionInLine)
        : base(message)
    {
        ByteOffset = byteOffset;
        LineNumber = line;
        BytePositionInLine = bytePositionInLine;
    }

    /// <summary>Zero-based byte offset of the problem in the document, when known.</summary>
    public long? ByteOffset { get; }

    /// <summary>One-based line of the problem, when known.</summary>
    public long? LineNumber { get; }

    /// <summary>One-based byte position of the problem within its line, when known.</summary>
    public long? BytePositionInLine { get; }
}
