namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// Every integration test class joins this collection, so one <see cref="PostgresFixture"/> serves the run.
/// Tests use their own channels and audiences, so they would also be correct running in parallel.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedPostgres : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
