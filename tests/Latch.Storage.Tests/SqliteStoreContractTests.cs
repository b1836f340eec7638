namespace Latch.Storage.Tests;

/// <summary>The storage contract against <see cref="Latch.Core.Storage.Sqlite.SqliteStore"/> (files in a temporary directory).</summary>
public sealed class SqliteStoreContractTests(SqliteStoreFixture fixture) : StoreContractTests(fixture), IClassFixture<SqliteStoreFixture>;
