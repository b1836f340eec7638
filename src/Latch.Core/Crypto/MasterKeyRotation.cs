using System.Security.Cryptography;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;

namespace Latch.Core.Crypto;

/// <summary>What a master-key rotation did.</summary>
/// <param name="WorkspaceCount">Workspaces whose data keys were re-wrapped.</param>
/// <param name="DataKeyCount">Data keys re-wrapped (every generation of every workspace).</param>
public sealed record MasterKeyRotationResult(int WorkspaceCount, int DataKeyCount);

/// <summary>
/// A verified rotation, ready to commit: every data key (every generation of every workspace) and the check value as read (opened with the old key) and
/// re-wrapped with the new key. Holds wrapped keys only, never key material.
/// </summary>
public sealed record MasterKeyRotationPlan(IReadOnlyList<RewrappedKey> DataKeys, byte[]? ExpectedCheck, byte[] NewCheck);

/// <summary>Why a master-key rotation refused to run (nothing was changed).</summary>
public sealed class MasterKeyRotationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MasterKeyRotationException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public MasterKeyRotationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public MasterKeyRotationException() { }
}

/// <summary>
/// Rotates the master key of a store (SPEC §6) without re-encrypting any value: every data key (every generation of every
/// workspace) and the
/// master-key check value are unwrapped with the old key and wrapped with the new one (<see cref="PrepareAsync"/>),
/// then replaced in one store transaction that also checks nothing moved since (<see cref="CommitAsync"/>, over
/// <see cref="ILatchStore.RewrapKeysAsync"/>). Works on any <see cref="ILatchStore"/>.
/// </summary>
public static class MasterKeyRotation
{
    // Must match Keyring's check value (tests prove a rotated store passes Keyring.VerifyAsync with the new key).
    internal const string CheckName = "master_key_check";
    internal const string CheckContext = "latch/master-key-check/v1";

    /// <summary>The audit action recorded in every workspace's log.</summary>
    public const string AuditAction = "master_key.rotated";

    private const string SameKey = "The new master key is the same as the old one; generate a new key (e.g. 'openssl rand -base64 32').";

    /// <summary>
    /// The embedded store: prepares from a read-only inspection of <paramref name="dataDirectory"/> (a wrong key or a
    /// damaged row is refused without touching a byte of its files), then commits through a freshly opened store whose
    /// only connection takes an exclusive lock, so a running server makes it fail with <see cref="StoreBusyException"/>.
    /// </summary>
    public static async Task<MasterKeyRotationResult> RotateSqliteAsync(
        string dataDirectory, IKeyEncryptionKey oldKey, IKeyEncryptionKey newKey, TimeProvider time, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        if (!File.Exists(SqliteStore.DatabasePath(dataDirectory)))
        {
            throw new MasterKeyRotationException($"There is no Latch store in {dataDirectory} (expected {SqliteStore.DatabasePath(dataDirectory)}).");
        }

        MasterKeyRotationPlan plan;
        await using (var inspection = SqliteStore.OpenForInspection(dataDirectory))
        {
            if (!await inspection.HasSchemaAsync(cancellationToken))
            {
                throw new MasterKeyRotationException($"{dataDirectory} holds no Latch store yet: there is nothing to rotate.");
            }

            // Rotation writes audit events, which need this build's schema (data-key generations, compact audit rows).
            if (!await inspection.HasDataKeyGenerationsAsync(cancellationToken) || !await inspection.HasCompactAuditRowsAsync(cancellationToken))
            {
                throw new MasterKeyRotationException(
                    $"The store in {dataDirectory} was written by an earlier Latch: start 'latch serve' on it once to upgrade it, stop it, then rotate.");
            }

            plan = await PrepareAsync(inspection, oldKey, newKey, cancellationToken);
        }

        await using var store = SqliteStore.Open(dataDirectory);
        return await CommitAsync(store, plan, time, actor, cancellationToken);
    }

    /// <summary>Prepares and commits on one store (for a store whose reads do not hold it open, e.g. PostgreSQL).</summary>
    public static async Task<MasterKeyRotationResult> RotateAsync(
        ILatchStore store, IKeyEncryptionKey oldKey, IKeyEncryptionKey newKey, TimeProvider time, string actor, CancellationToken cancellationToken)
    {
        var plan = await PrepareAsync(store, oldKey, newKey, cancellationToken);
        return await CommitAsync(store, plan, time, actor, cancellationToken);
    }

    /// <summary>
    /// Verifies that <paramref name="oldKey"/> opens the check value and every data key (every generation) and that
    /// <paramref name="newKey"/> is a different key, and re-wraps them. Reads only. Throws
    /// <see cref="MasterKeyMismatchException"/> when the old key does not open something (wrong key or damaged row) and
    /// <see cref="MasterKeyRotationException"/> for other refusals.
    /// </summary>
    public static async Task<MasterKeyRotationPlan> PrepareAsync(
        ILatchStore store, IKeyEncryptionKey oldKey, IKeyEncryptionKey newKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(oldKey);
        ArgumentNullException.ThrowIfNull(newKey);

        var check = await store.GetMetaAsync(CheckName, cancellationToken);
        var wrapped = await store.ListDataKeysAsync(null, cancellationToken);
        if (check is null && wrapped.Count == 0)
        {
            throw new MasterKeyRotationException("The store has no master-key check value and no workspaces yet: there is nothing to rotate.");
        }

        byte[] newCheck;
        if (check is not null)
        {
            var checkMaterial = Unwrap(oldKey, check, CheckContext, "the master-key check value");
            try
            {
                if (Opens(newKey, check, CheckContext))
                {
                    throw new MasterKeyRotationException(SameKey);
                }

                newCheck = newKey.Wrap(checkMaterial, CheckContext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(checkMaterial);
            }
        }
        else
        {
            // A store whose check value was never written gets one under the new key.
            var fresh = RandomNumberGenerator.GetBytes(32);
            newCheck = newKey.Wrap(fresh, CheckContext);
            CryptographicOperations.ZeroMemory(fresh);
        }

        var rewrapped = new List<RewrappedKey>(wrapped.Count);
        foreach (var key in wrapped)
        {
            var (workspaceId, current) = (key.WorkspaceId, key.WrappedKey);
            var context = DataKey.WrapContext(workspaceId, key.Generation);
            var material = Unwrap(oldKey, current, context, $"the data key (generation {key.Generation}) of workspace '{workspaceId}'");
            try
            {
                if (check is null && Opens(newKey, current, context))
                {
                    throw new MasterKeyRotationException(SameKey);
                }

                rewrapped.Add(new RewrappedKey(workspaceId, key.Generation, current, newKey.Wrap(material, context)));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(material);
            }
        }

        return new MasterKeyRotationPlan(rewrapped, check, newCheck);
    }

    /// <summary>
    /// Writes a prepared rotation in one transaction with a <c>master_key.rotated</c> audit event per workspace.
    /// Throws <see cref="MasterKeyRotationException"/> (nothing written) if the store changed since it was prepared,
    /// and <see cref="StoreBusyException"/> when the store is in use.
    /// </summary>
    public static async Task<MasterKeyRotationResult> CommitAsync(
        ILatchStore store, MasterKeyRotationPlan plan, TimeProvider time, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var audit = plan.DataKeys.GroupBy(k => k.WorkspaceId, StringComparer.Ordinal).Select(g => new AuditEvent
        {
            Id = Ids.New("evt_"),
            WorkspaceId = g.Key,
            At = now,
            Action = AuditAction,
            ActorName = actor,
            Detail = g.Count() == 1
                ? "data key re-wrapped under a new master key; values unchanged"
                : $"{g.Count()} data key generations re-wrapped under a new master key; values unchanged",
        }).ToList();

        var outcome = await store.RewrapKeysAsync(plan.DataKeys, plan.ExpectedCheck, plan.NewCheck, audit, cancellationToken);
        if (outcome != RewrapOutcome.Rewrapped)
        {
            throw new MasterKeyRotationException(
                "The store changed while the rotation was being prepared (is a server running on it?); nothing was changed. Stop the server and retry.");
        }

        return new MasterKeyRotationResult(audit.Count, plan.DataKeys.Count);
    }

    private static byte[] Unwrap(IKeyEncryptionKey key, byte[] wrapped, string context, string what)
    {
        try
        {
            return key.Unwrap(wrapped, context);
        }
        catch (MasterKeyMismatchException)
        {
            throw new MasterKeyMismatchException(
                $"The old master key does not open {what}: either it is not the key this store uses, or that wrapped key is damaged. Nothing was changed.");
        }
    }

    private static bool Opens(IKeyEncryptionKey key, byte[] wrapped, string context)
    {
        try
        {
            CryptographicOperations.ZeroMemory(key.Unwrap(wrapped, context));
            return true;
        }
        catch (MasterKeyMismatchException)
        {
            return false;
        }
    }
}
