using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

/// <summary>An in-memory <see cref="ISecretLookup"/> that counts its calls.</summary>
internal sealed class FakeSecretLookup : ISecretLookup
{
    private readonly Dictionary<string, (SecretPolicy Policy, string Value)> _secrets = new(StringComparer.Ordinal);

    public int PolicyCalls { get; private set; }

    public int DecryptCalls { get; private set; }

    public List<string> LastDecrypted { get; } = [];

    public HashSet<string> Tampered { get; } = new(StringComparer.Ordinal);

    public FakeSecretLookup Add(
        string key,
        string value,
        int version = 1,
        bool revoked = false,
        string[]? scope = null,
        string[]? envs = null,
        DateTimeOffset? expiresAt = null)
    {
        _secrets[key] = (new SecretPolicy(key, version, revoked, scope ?? [], envs ?? [], expiresAt), value);
        return this;
    }

    public ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        PolicyCalls++;
        var result = new Dictionary<string, SecretPolicy>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (_secrets.TryGetValue(key, out var s))
            {
                result[key] = s.Policy;
            }
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, SecretPolicy>>(result);
    }

    public ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken)
    {
        DecryptCalls++;
        LastDecrypted.Clear();
        var result = new Dictionary<string, SecretValue>(StringComparer.Ordinal);
        foreach (var policy in secrets)
        {
            LastDecrypted.Add(policy.Key);
            if (Tampered.Contains(policy.Key))
            {
                throw new SecretIntegrityException(policy.Key);
            }

            result[policy.Key] = new SecretValue(_secrets[policy.Key].Value);
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, SecretValue>>(result);
    }
}
