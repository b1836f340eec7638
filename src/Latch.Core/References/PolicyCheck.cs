namespace Latch.Core.References;

/// <summary>The metadata checks of SPEC §2, in order: exists, not revoked, scope, environment, expiry.</summary>
public static class PolicyCheck
{
    /// <summary>
    /// The first check the reference fails, or null when it may resolve. <paramref name="policy"/> null means the
    /// secret does not exist.
    /// </summary>
    public static ReferenceError? Evaluate(FoundReference reference, SecretPolicy? policy, ResolutionTarget target, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(target);
        return Failure(reference.Key, policy, target, now) is { } failure
            ? new ReferenceError(reference.Path, reference.Key, failure.Code, failure.Message)
            : null;
    }

    /// <summary>The first failing check for a key (it depends only on the key, the target and the time), or null.</summary>
    internal static (string Code, string Message)? Failure(string key, SecretPolicy? policy, ResolutionTarget target, DateTimeOffset now)
    {
        if (policy is null)
        {
            return (ReferenceCodes.NotFound, ReferenceMessages.NotFound(key));
        }

        if (policy.Revoked)
        {
            return (ReferenceCodes.Revoked, ReferenceMessages.Revoked(key));
        }

        if (!InScope(policy.Scope, target))
        {
            return (ReferenceCodes.ScopeDenied, ReferenceMessages.ScopeDenied(key, target.App));
        }

        if (!InEnvs(policy.Envs, target.Env))
        {
            return (ReferenceCodes.EnvDenied, ReferenceMessages.EnvDenied(key, target.Env));
        }

        if (policy.ExpiresAt is { } expiresAt && now >= expiresAt)
        {
            return (ReferenceCodes.Expired, ReferenceMessages.Expired(key));
        }

        return null;
    }

    /// <summary>
    /// Whether a scope admits the target: empty admits every app; otherwise an entry equal to the app's access tag,
    /// or <c>product:access_tag</c> for exactly the target's product.
    /// </summary>
    public static bool InScope(IReadOnlyList<string>? scope, ResolutionTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (scope is null || scope.Count == 0)
        {
            return true;
        }

        var app = target.App;
        var product = target.Product;
        // Indexed, not foreach: enumerating an IReadOnlyList allocates an enumerator, once per key per resolution.
        for (var i = 0; i < scope.Count; i++)
        {
            var entry = scope[i];
            if (string.Equals(entry, app, StringComparison.Ordinal))
            {
                return true;
            }

            if (product is not null
                && entry.Length == product.Length + 1 + app.Length
                && entry[product.Length] == ':'
                && entry.StartsWith(product, StringComparison.Ordinal)
                && entry.EndsWith(app, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether an environment list admits the slug: empty admits every environment.</summary>
    public static bool InEnvs(IReadOnlyList<string>? envs, string env)
    {
        if (envs is null || envs.Count == 0)
        {
            return true;
        }

        for (var i = 0; i < envs.Count; i++)
        {
            if (string.Equals(envs[i], env, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
