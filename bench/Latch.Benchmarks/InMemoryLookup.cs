using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Benchmarks;

/// <summary>Secrets held in memory: the engine's work without the store's I/O.</summary>
internal sealed class InMemoryLookup : ISecretLookup
{
    private readonly Dictionary<string, SecretPolicy> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecretValue> _values = new(StringComparer.Ordinal);

    public InMemoryLookup(int keys)
    {
        for (var i = 1; i <= keys; i++)
        {
            var key = "KEY_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var scope = i % 3 == 0 ? new[] { "billing_app", "shop:bench_app" } : [];
            var envs = i % 2 == 0 ? new[] { "dev", "prd" } : [];
            _policies[key] = new SecretPolicy(key, 1 + (i % 4), false, scope, envs, DateTimeOffset.MaxValue);
            _values[key] = new SecretValue("sk_live_" + new string((char)('a' + (i % 26)), 24) + "\"" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Every key and its value, for writing the same values in another tool's format.</summary>
    public IEnumerable<KeyValuePair<string, string>> Values => _values.Select(v => KeyValuePair.Create(v.Key, v.Value.Reveal()));

    public ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, SecretPolicy>(keys.Count, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (_policies.TryGetValue(key, out var policy))
            {
                result[key] = policy;
            }
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, SecretPolicy>>(result);
    }

    public ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, SecretValue>(secrets.Count, StringComparer.Ordinal);
        foreach (var policy in secrets)
        {
            result[policy.Key] = _values[policy.Key];
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, SecretValue>>(result);
    }
}
