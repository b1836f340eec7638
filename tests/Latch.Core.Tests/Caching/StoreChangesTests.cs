using Latch.Core.Storage;

namespace Latch.Core.Tests.Caching;

/// <summary>The change feed's coherence rules, which every cache relies on.</summary>
public sealed class StoreChangesTests
{
    [Fact]
    public void Without_a_lease_coherence_follows_the_flag_and_every_transition_publishes_everything()
    {
        var changes = new StoreChanges(coherent: false);
        var heard = new List<StoreChange>();
        changes.Changed += heard.Add;
        Assert.False(changes.IsCoherent);

        changes.SetCoherent(true);
        Assert.True(changes.IsCoherent);
        changes.SetCoherent(false);
        Assert.False(changes.IsCoherent);
        Assert.Equal([StoreChange.All, StoreChange.All], heard);
        Assert.Equal(2, changes.Epoch);
    }

    [Fact]
    public void A_lease_that_is_not_renewed_lapses_by_itself_and_a_renewal_restores_coherence()
    {
        var changes = new StoreChanges(coherent: true);
        changes.RenewLease(TimeSpan.FromHours(1));
        Assert.True(changes.IsCoherent);

        // An already-expired lease: a stalled listener cannot keep caches trusted.
        changes.RenewLease(TimeSpan.FromMilliseconds(-1));
        Assert.False(changes.IsCoherent);

        changes.RenewLease(TimeSpan.FromHours(1));
        Assert.True(changes.IsCoherent);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("99|ws_1|KEY")]
    [InlineData("x|ws_1|KEY")]
    public void An_unreadable_notification_drops_everything(string? payload) =>
        Assert.Equal(StoreChange.All, StoreChange.FromPayload(payload));

    [Fact]
    public void Payloads_round_trip()
    {
        foreach (var change in new[]
        {
            new StoreChange("ws_1", StoreChangeKind.Secret, "STRIPE_KEY"),
            new StoreChange("ws_1", StoreChangeKind.Config, "product_app/shop/stripe_app"),
            new StoreChange("ws_2", StoreChangeKind.ApiKey, null),
            StoreChange.All,
        })
        {
            Assert.Equal(change, StoreChange.FromPayload(change.ToPayload()));
        }
    }
}
