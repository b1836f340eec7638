namespace Latch.Core.Storage;

/// <summary>
/// One data key (one generation of a workspace's keys) re-wrapped under a new master key. <see cref="Expected"/> is the
/// wrapped form that was read (and opened with the old master key); the store replaces it only if it is still exactly that.
/// </summary>
public sealed record RewrappedKey(string WorkspaceId, int Generation, byte[] Expected, byte[] Replacement);

/// <summary>Outcome of <see cref="ILatchStore.RewrapKeysAsync"/>.</summary>
public enum RewrapOutcome
{
    /// <summary>Every data key and the check value were replaced in one committed transaction.</summary>
    Rewrapped,

    /// <summary>
    /// The store no longer matches what was read (a workspace or a data-key generation was added or removed, a wrapped
    /// key or the check value changed): nothing was written.
    /// </summary>
    StoreChanged,
}

/// <summary>The store is in use by another process or connection (e.g. a running <c>latch serve</c>); nothing was written.</summary>
public sealed class StoreBusyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreBusyException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public StoreBusyException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public StoreBusyException() { }
}
