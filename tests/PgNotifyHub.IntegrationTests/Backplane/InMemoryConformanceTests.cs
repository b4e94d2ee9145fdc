using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>The same cases on one node with SignalR's default in-memory lifetime manager: the behaviour to match.</summary>
[Collection(SharedPostgres.Name)]
public sealed class InMemoryConformanceTests(PostgresFixture postgres) : ScaleOutConformanceTests(postgres)
{
    protected override int NodeCount => 1;

    protected override bool UseBackplane => false;
}
