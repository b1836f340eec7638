using Latch.Core.Crypto;
using Latch.Core.References;
using Latch.Core.Storage;

namespace Latch.Core.Secrets;

/// <summary>The resolution engine's view of one workspace in the store.</summary>
internal sealed class StoreSecretLookup : ISecretLookup
{
    private readonly ILatchStore _store;
    private readonly Keyring _keyring;
    private readonly string _workspaceId;

    public StoreSecretLookup(ILatchStore store, Keyring keyring, string workspaceId)
    {
        _store = store;
        _keyring = keyring;
        _workspaceId = workspaceId;
    }

    public async ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var records = await _store.GetSecretsAsync(_workspaceId, keys, cancellationToken);
        return records.ToDictionary(
            r => r.Key,
            r => new SecretPolicy(r.Key, r.Version, r.Revoked, r.Scope, r.Envs,
                r.ExpiresAt is { } e ? DateTimeOffset.FromUnixTimeSeconds(e) : null),
            StringComparer.Ordinal);
    }

    public async ValueTask<IReadOnlyDictionary<string, Secrets.SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, SecretValue>(secrets.Count, StringComparer.Ordinal);
        List<string>? failed = null;
        var sealedValues = await _store.GetSealedValuesAsync(_workspaceId, secrets.Select(p => (p.Key, p.Version)).ToList(), cancellationToken);
        foreach (var policy in secrets)
        {
            // Every key is tried so that a failure lists every tampered secret, not just the first.
            if (!sealedValues.TryGetValue(policy.Key, out var sealedValue))
            {
                // Deleted since its policy was read (versions go with the secret): the engine reports secret_not_found.
                continue;
            }

            try
            {
                values[policy.Key] = await _keyring.OpenAsync(_workspaceId, policy.Key, policy.Version, sealedValue, cancellationToken);
            }
            catch (SecretIntegrityException)
            {
                (failed ??= []).Add(policy.Key);
            }
        }

        return failed is null ? values : throw new SecretIntegrityException(failed);
    }
}
