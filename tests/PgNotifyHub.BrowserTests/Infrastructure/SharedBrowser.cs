using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// Every browser test class joins this collection: one PostgreSQL server and one Chromium serve the run. Each test
/// starts its own server process on its own channel.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedBrowser : ICollectionFixture<PostgresFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
