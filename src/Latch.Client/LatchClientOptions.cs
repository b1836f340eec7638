namespace Latch.Client;

/// <summary>Where Latch is and how to call it.</summary>
public sealed class LatchClientOptions
{
    /// <summary>The server's address, e.g. <c>https://latch.example.com</c> (absolute, http or https).</summary>
    public Uri? Url { get; set; }

    /// <summary>The API key sent as <c>Authorization: Bearer …</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The most a call may take, retries included (default 100 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The most one attempt may take (default 40 s, above the server's 30 s action timeout).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(40);

    /// <summary>Retries of idempotent calls (GET, HEAD, PUT, DELETE) after a transient failure (default 3). POST and PATCH are never retried.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Every problem with these options, empty when they are usable.</summary>
    /// <returns>Messages naming the option.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Url is null)
        {
            errors.Add("LatchClientOptions.Url is required (e.g. https://latch.example.com).");
        }
        else if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("LatchClientOptions.Url must be an absolute http or https address.");
        }

        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            errors.Add("LatchClientOptions.ApiKey is required.");
        }

        if (Timeout <= TimeSpan.Zero || AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > Timeout)
        {
            errors.Add("LatchClientOptions.Timeout and AttemptTimeout must be positive, with AttemptTimeout at most Timeout.");
        }

        if (MaxRetryAttempts is < 0 or > 10)
        {
            errors.Add("LatchClientOptions.MaxRetryAttempts must be from 0 to 10.");
        }

        return errors;
    }
}
