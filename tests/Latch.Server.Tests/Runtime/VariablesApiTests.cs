using System.Net.Http.Json;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Runtime;

public sealed class VariablesApiTests : RuntimeTestBase
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Owner.CreateSecretAsync(new { key = "DB_PASSWORD", value = "db-pass-1" });
        await Owner.CreateSecretAsync(new { key = "PRD_ONLY", value = "prd-only", envs = new[] { "prd" } });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new { access_tag = "svc_app", name = "Service", envs = AppEnvs() }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "svc_app",
            envs = new[]
            {
                Mapping("prd", variables: new[] { new { key = "DB_PASSWORD", value = "$Token{DB_PASSWORD}" }, new { key = "FROM_EMAIL", value = "noreply@shop.example" }, new { key = "EXTRA", value = "$Token{PRD_ONLY}" } }),
                Mapping("dev", variables: new[] { new { key = "DB_PASSWORD", value = "$Token{DB_PASSWORD}" }, new { key = "EXTRA", value = "$Token{PRD_ONLY}" } }),
            },
        }));
    }

    [Fact]
    public async Task Variables_come_back_resolved_for_the_environment_and_are_audited_as_config()
    {
        var body = await Ok(await Owner.GetAsync("/v1/products/shop/apps/svc_app/variables?env=prd"));
        Assert.Equal("db-pass-1", body["variables"]!["DB_PASSWORD"]!.GetValue<string>());
        Assert.Equal("noreply@shop.example", body["variables"]!["FROM_EMAIL"]!.GetValue<string>());
        Assert.Equal("prd-only", body["variables"]!["EXTRA"]!.GetValue<string>());
        var audit = await Ok(await Owner.GetAsync("/v1/audit?action=secret.resolved&secret=DB_PASSWORD"));
        Assert.Equal("config", audit["items"]![0]!["context"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failing_reference_fails_the_whole_load_unless_its_variable_is_optional()
    {
        var problem = await (await Owner.GetAsync("/v1/products/shop/apps/svc_app/variables?env=dev")).AssertProblemAsync(422, "secret_env_denied");
        Assert.Equal("$.EXTRA", problem["errors"]![0]!["path"]!.GetValue<string>());

        var body = await Ok(await Owner.GetAsync("/v1/products/shop/apps/svc_app/variables?env=dev&optional=EXTRA"));
        Assert.Equal("db-pass-1", body["variables"]!["DB_PASSWORD"]!.GetValue<string>());
        Assert.Null(body["variables"]!["EXTRA"]);
        Assert.Equal("EXTRA", body["skipped"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task A_runtime_key_bound_to_another_app_cannot_load_the_variables()
    {
        using var bound = await Server.ClientWithRoleAsync("runtime", apps: ["other_app"]);
        await (await bound.GetAsync("/v1/products/shop/apps/svc_app/variables?env=prd")).AssertProblemAsync(403, "key_binding_denied");
        using var runtime = await Server.ClientWithRoleAsync("runtime", apps: ["svc_app"], envs: ["prd"]);
        await Ok(await runtime.GetAsync("/v1/products/shop/apps/svc_app/variables?env=prd"));
        await (await runtime.GetAsync("/v1/products/shop/apps/svc_app/variables")).AssertProblemAsync(400, "validation_failed");
    }
}
