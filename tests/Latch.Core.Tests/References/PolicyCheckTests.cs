using Latch.Core.References;

namespace Latch.Core.Tests.References;

public sealed class PolicyCheckTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly FoundReference Reference = new("$.auth", "STRIPE_KEY");
    private static readonly ResolutionTarget Target = new("stripe_app", "dev", "shop");

    private static SecretPolicy Policy(bool revoked = false, string[]? scope = null, string[]? envs = null, DateTimeOffset? expiresAt = null) =>
        new("STRIPE_KEY", 3, revoked, scope ?? [], envs ?? [], expiresAt);

    [Fact]
    public void Unrestricted_active_secret_passes()
    {
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(), Target, Now));
    }

    [Fact]
    public void Missing_secret_is_not_found()
    {
        var error = PolicyCheck.Evaluate(Reference, null, Target, Now);
        Assert.Equal(new ReferenceError("$.auth", "STRIPE_KEY", "secret_not_found", "Secret 'STRIPE_KEY' not found"), error);
    }

    [Fact]
    public void Revoked_secret_is_refused()
    {
        var error = PolicyCheck.Evaluate(Reference, Policy(revoked: true), Target, Now);
        Assert.Equal(new ReferenceError("$.auth", "STRIPE_KEY", "secret_revoked", "Secret 'STRIPE_KEY' has been revoked"), error);
    }

    [Fact]
    public void Revoked_and_out_of_scope_secret_reports_revoked()
    {
        var error = PolicyCheck.Evaluate(Reference, Policy(revoked: true, scope: ["other"], envs: ["prd"], expiresAt: Now.AddDays(-1)), Target, Now);
        Assert.Equal("secret_revoked", error?.Code);
    }

    [Fact]
    public void Out_of_scope_secret_names_the_app()
    {
        var error = PolicyCheck.Evaluate(Reference, Policy(scope: ["billing_app"]), new ResolutionTarget("other_app", "dev"), Now);
        Assert.Equal(new ReferenceError("$.auth", "STRIPE_KEY", "secret_scope_denied", "Secret 'STRIPE_KEY' is not accessible by app 'other_app'"), error);
    }

    [Fact]
    public void Out_of_scope_and_wrong_environment_reports_scope()
    {
        var error = PolicyCheck.Evaluate(Reference, Policy(scope: ["billing_app"], envs: ["prd"]), Target, Now);
        Assert.Equal("secret_scope_denied", error?.Code);
    }

    [Fact]
    public void Scope_listing_the_access_tag_admits_the_app()
    {
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(scope: ["x", "stripe_app"]), Target, Now));
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(scope: ["stripe_app"]), new ResolutionTarget("stripe_app", "dev"), Now));
    }

    [Fact]
    public void Product_app_scope_admits_only_that_products_app()
    {
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(scope: ["shop:stripe_app"]), Target, Now));
        Assert.Equal("secret_scope_denied", PolicyCheck.Evaluate(Reference, Policy(scope: ["crm:stripe_app"]), Target, Now)?.Code);
        Assert.Equal("secret_scope_denied", PolicyCheck.Evaluate(Reference, Policy(scope: ["shop:stripe_app"]), new ResolutionTarget("stripe_app", "dev"), Now)?.Code);
        Assert.Equal("secret_scope_denied", PolicyCheck.Evaluate(Reference, Policy(scope: ["shop:other_app"]), Target, Now)?.Code);
    }

    [Fact]
    public void Scope_is_case_sensitive()
    {
        Assert.Equal("secret_scope_denied", PolicyCheck.Evaluate(Reference, Policy(scope: ["Stripe_App"]), Target, Now)?.Code);
    }

    [Fact]
    public void Wrong_environment_names_the_environment()
    {
        var error = PolicyCheck.Evaluate(new FoundReference("$.k", "PROD_KEY"), Policy(envs: ["prd"]) with { Key = "PROD_KEY" }, Target, Now);
        Assert.Equal(new ReferenceError("$.k", "PROD_KEY", "secret_env_denied", "Secret 'PROD_KEY' is not available in environment 'dev'"), error);
    }

    [Fact]
    public void Listed_environment_passes()
    {
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(envs: ["prd", "dev"]), Target, Now));
    }

    [Fact]
    public void Wrong_environment_and_expired_reports_environment()
    {
        Assert.Equal("secret_env_denied", PolicyCheck.Evaluate(Reference, Policy(envs: ["prd"], expiresAt: Now.AddDays(-1)), Target, Now)?.Code);
    }

    [Fact]
    public void Secret_is_expired_exactly_at_expires_at()
    {
        var error = PolicyCheck.Evaluate(Reference, Policy(expiresAt: Now), Target, Now);
        Assert.Equal(new ReferenceError("$.auth", "STRIPE_KEY", "secret_expired", "Secret 'STRIPE_KEY' has expired"), error);
    }

    [Fact]
    public void Secret_is_valid_one_tick_before_expires_at()
    {
        Assert.Null(PolicyCheck.Evaluate(Reference, Policy(expiresAt: Now.AddTicks(1)), Target, Now));
    }
}
