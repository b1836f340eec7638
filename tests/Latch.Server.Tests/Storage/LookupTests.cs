using Latch.Core.Access;
using Latch.Core.Audit;
using Latch.Core.Crypto;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Storage;

public sealed class LookupTests
{
    [Fact]
    public async Task A_secret_deleted_between_its_checks_and_decryption_is_missing_not_an_integrity_failure()
    {
        var dir = TestServer.NewDataDirectory();
        await using var store = SqliteStore.Open(dir);
        await store.MigrateAsync(null, CancellationToken.None);
        using var master = LocalMasterKey.FromBase64(LocalMasterKey.GenerateBase64(), "test");
        using var keyring = new Keyring(master, store);
        await keyring.InitializeAsync(CancellationToken.None);
        await new AccessService(store, keyring, TimeProvider.System).BootstrapAsync(TestServer.BootstrapKey, CancellationToken.None);
        var workspace = (await store.GetWorkspaceByNameAsync("default", CancellationToken.None))!;
        await using var audit = new AuditWriter(store);
        var secrets = new SecretService(store, keyring, audit, TimeProvider.System);
        await secrets.CreateAsync(workspace.Id, new SecretDraft("RACED", new SecretValue("raced-value"), null, null, [], [], null), Actor.System, CancellationToken.None);
        await secrets.CreateAsync(workspace.Id, new SecretDraft("KEPT", new SecretValue("kept-value"), null, null, [], [], null), Actor.System, CancellationToken.None);
        var lookup = new StoreSecretLookup(store, keyring, workspace.Id);

        var policies = await lookup.GetPoliciesAsync(["RACED", "KEPT"], CancellationToken.None);
        await secrets.DeleteAsync(workspace.Id, "RACED", Actor.System, CancellationToken.None);
        var values = await lookup.DecryptAsync(policies.Values.ToList(), CancellationToken.None);

        Assert.False(values.ContainsKey("RACED"));
        Assert.Equal("kept-value", values["KEPT"].Reveal());
    }
}
