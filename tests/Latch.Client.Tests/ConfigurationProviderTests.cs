using Latch.Client.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Latch.Client.Tests;

public sealed class ConfigurationProviderTests : IClassFixture<LatchHarness>
{
    private readonly LatchHarness _latch;

    public ConfigurationProviderTests(LatchHarness latch) => _latch = latch;

    private LatchClient Client => _latch.Client;

    /// <summary>A product app whose variables reference the given secrets.</summary>
    private async Task<(string Product, string App)> ConfigureAsync(params (string Variable, string Value)[] variables)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var product = "svc_" + suffix;
        var app = "api_" + suffix;
        await Client.Apps.CreateAsync(new AppDefinition(app, "Api", [new AppEnvironment("live", "https://api.example")]));
        await Client.Products.CreateAsync(new ProductDefinition(product, "Service", [new ProductEnvironment("prd", "Production")]));
        await Client.Product(product).Apps.AddAsync(new ProductAppConfig(app,
            [new ProductAppEnvironment("live", "prd", variables.Select(v => new ProductAppVariable(v.Variable, v.Value)).ToList())]));
        return (product, app);
    }

    private void Options(LatchConfigurationOptions o, string product, string app)
    {
        o.Url = _latch.Url;
        o.ApiKey = LatchHarness.BootstrapKey;
        o.Product = product;
        o.App = app;
        o.Env = "prd";
    }

    [Fact]
    public async Task Variables_load_as_configuration_keys_optionally_under_a_prefix()
    {
        var secret = LatchHarness.Key("DBPW");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secret) { Value = "db-password-1" });
        var (product, app) = await ConfigureAsync(("DB_PASSWORD", $"$Token{{{secret}}}"), ("ConnectionStrings__Db", $"Host=db;Password=$Token{{{secret}}}"), ("PLAIN", "text"));

        var root = new ConfigurationBuilder().AddLatch(o => Options(o, product, app)).Build();
        Assert.Equal("db-password-1", root["DB_PASSWORD"]);
        Assert.Equal("Host=db;Password=db-password-1", root.GetConnectionString("Db"));
        Assert.Equal("text", root["PLAIN"]);

        var prefixed = new ConfigurationBuilder().AddLatch(o =>
        {
            Options(o, product, app);
            o.Prefix = "Latch";
        }).Build();
        Assert.Equal("db-password-1", prefixed["Latch:DB_PASSWORD"]);
        Assert.Null(prefixed["DB_PASSWORD"]);
        Assert.Equal(3, prefixed.GetSection("Latch").GetChildren().Count());
    }

    [Fact]
    public async Task An_unresolvable_reference_fails_start_up_naming_path_and_key_but_never_a_value()
    {
        var secret = LatchHarness.Key("GOOD");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secret) { Value = "good-value-123", Envs = ["dev"] });
        var (product, app) = await ConfigureAsync(("GOOD", $"$Token{{{secret}}}"), ("MISSING", "$Token{NOT_CREATED}"));

        var error = Assert.Throws<LatchConfigurationException>(() => new ConfigurationBuilder().AddLatch(o => Options(o, product, app)).Build());
        Assert.Contains("$.MISSING (NOT_CREATED): Secret 'NOT_CREATED' not found", error.Message, StringComparison.Ordinal);
        Assert.Contains($"$.GOOD ({secret}): Secret '{secret}' is not available in environment 'prd'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"app '{app}' in environment 'prd' of product '{product}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("good-value-123", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, error.ReferenceErrors.Count);
        Assert.IsType<LatchException>(error.InnerException);
    }

    [Fact]
    public async Task An_optional_variable_that_does_not_resolve_is_skipped()
    {
        var secret = LatchHarness.Key("REQ");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secret) { Value = "required-value" });
        var (product, app) = await ConfigureAsync(("REQUIRED", $"$Token{{{secret}}}"), ("FEATURE_KEY", "$Token{NOT_YET_CREATED}"));

        var root = new ConfigurationBuilder().AddLatch(o => Options(o.Optional("FEATURE_KEY"), product, app)).Build();
        Assert.Equal("required-value", root["REQUIRED"]);
        Assert.Null(root["FEATURE_KEY"]);
    }

    [Fact]
    public async Task A_rotation_is_picked_up_by_IOptionsMonitor_after_a_reload_and_failures_keep_the_last_values()
    {
        var secret = LatchHarness.Key("ROT");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secret) { Value = "before-rotation" });
        var (product, app) = await ConfigureAsync(("Db__Password", $"$Token{{{secret}}}"));
        var failures = 0;
        using var root = (ConfigurationRoot)new ConfigurationBuilder().AddLatch(o =>
        {
            Options(o, product, app);
            o.ReloadInterval = TimeSpan.FromMilliseconds(200);
            o.OnReloadError = _ => Interlocked.Increment(ref failures);
        }).Build();
        var services = new ServiceCollection();
        services.Configure<DbSettings>(root.GetSection("Db"));
        await using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<DbSettings>>();
        Assert.Equal("before-rotation", monitor.CurrentValue.Password);

        await Client.Secrets.UpdateAsync(secret, new SecretUpdate { Value = "after-rotation" });
        await Eventually(() => monitor.CurrentValue.Password == "after-rotation");
        Assert.Equal("after-rotation", root["Db:Password"]);

        // Revoked: reloads fail, the last good value stays.
        await Client.Secrets.RevokeAsync(secret);
        await Eventually(() => Volatile.Read(ref failures) > 0);
        Assert.Equal("after-rotation", root["Db:Password"]);
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(deadline) > TimeSpan.FromSeconds(30))
            {
                Assert.Fail("The condition did not hold within 30 seconds.");
            }

            await Task.Delay(50);
        }
    }

    private sealed class DbSettings
    {
        public string? Password { get; set; }
    }
}
