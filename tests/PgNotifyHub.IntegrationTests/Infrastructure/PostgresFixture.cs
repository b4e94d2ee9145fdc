using DotNet.Testcontainers.Configurations;
using Npgsql;
using Testcontainers.PostgreSql;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the whole test run, found in this order: the connection string in
/// <c>PGNOTIFYHUB_TEST_PG</c>; a throwaway cluster made with local server binaries; a Testcontainers
/// container when a Docker endpoint answers. Without any of them every test fails saying how to provide one.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string ConnectionStringVariable = "PGNOTIFYHUB_TEST_PG";

    // A throwaway cluster need not survive a crash; many hosts at once need more than the default 100 connections.
    private static readonly string[] FastSettings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"];

    private LocalPostgresCluster? _cluster;
    private PostgreSqlContainer? _container;
    private NpgsqlDataSource? _dataSource;

    public string ConnectionString { get; private set; } = "";

    /// <summary>Where the server comes from, for failure messages.</summary>
    public string Description { get; private set; } = "";

    /// <summary>For the tests' own commands (NOTIFY, pg_terminate_backend…), never for the hub under test.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>Host and port of the server over TCP, for <see cref="TcpProxy"/>.</summary>
    public (string Host, int Port) TcpEndpoint
    {
        get
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            if (builder.Host is null || builder.Host.StartsWith('/'))
            {
                throw new InvalidOperationException($"This test needs a TCP connection string, not '{builder.Host}' ({Description}).");
            }

            return (builder.Host, builder.Port);
        }
    }

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var fromEnvironment = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            ConnectionString = fromEnvironment;
            Description = ConnectionStringVariable;
        }
        else if (LocalPostgresCluster.FindBinDirectory() is { } binDirectory)
        {
            _cluster = await LocalPostgresCluster.StartAsync(binDirectory, FastSettings, cancellationToken);
            ConnectionString = _cluster.ConnectionString;
            Description = _cluster.Description;
        }
        else if (await StartContainerAsync(cancellationToken) is { } container)
        {
            _container = container;
            ConnectionString = container.GetConnectionString();
            Description = "Testcontainers postgres:16-alpine";
        }
        else
        {
            throw new InvalidOperationException(
                "No PostgreSQL server for the integration tests. Provide one of: the environment variable "
                + ConnectionStringVariable + " with an Npgsql connection string (e.g. 'Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=postgres'); "
                + "PostgreSQL's server binaries (apt-get install -y postgresql, or set PG_BIN to the directory holding initdb and pg_ctl); "
                + "or a running Docker engine for Testcontainers.");
        }

        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception exception)
        {
            throw new InvalidOperationException($"PostgreSQL from {Description} does not answer: {exception.Message}", exception);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    /// <summary><c>SELECT pg_notify(channel, payload)</c> in its own transaction.</summary>
    public async Task NotifyAsync(string channel, string payload, CancellationToken cancellationToken = default)
    {
        await using var command = DataSource.CreateCommand("SELECT pg_notify($1, $2)");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>All payloads in one statement, so one transaction: they are delivered in this order.</summary>
    public async Task NotifyManyAsync(string channel, IReadOnlyList<string> payloads, CancellationToken cancellationToken = default)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS t(payload, n) ORDER BY n");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. payloads] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// <c>audience,{"i":1}</c> … <c>audience,{"i":count}</c> from one statement, as a trigger firing for
    /// every row of a bulk update would: one transaction, delivered in this order.
    /// </summary>
    public async Task NotifySeriesAsync(string channel, string audience, int count, CancellationToken cancellationToken = default)
    {
        await using var command = DataSource.CreateCommand(
            """SELECT pg_notify($1, $2 || ',{"i":' || i || '}') FROM generate_series(1, $3) AS i""");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One NOTIFY per (channel, payload) pair, all in one statement and one transaction, in this order.</summary>
    public async Task NotifyManyAsync(IReadOnlyList<(string Channel, string Payload)> notifications, CancellationToken cancellationToken = default)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(channel, payload, n) ORDER BY n");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. notifications.Select(n => n.Channel)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. notifications.Select(n => n.Payload)] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Terminates a backend, as an administrator or a failover would, and checks that it was found.</summary>
    public async Task TerminateBackendAsync(int processId, CancellationToken cancellationToken = default)
    {
        await using var command = DataSource.CreateCommand("SELECT pg_terminate_backend($1)");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = processId });
        var terminated = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        if (!terminated)
        {
            throw new InvalidOperationException($"No backend with process id {processId} to terminate.");
        }
    }

    /// <summary>
    /// A connection string to the server with a unique application name, and a way to count the backends that
    /// use it in <c>pg_stat_activity</c>.
    /// </summary>
    public (string ConnectionString, Func<Task<long>> CountBackendsAsync) TaggedConnection()
    {
        var applicationName = "pgnotifyhub_" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = applicationName }.ConnectionString;
        return (connectionString, async () =>
        {
            await using var count = DataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1");
            count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
            return (long)(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        }
        );
    }

    private static async Task<PostgreSqlContainer?> StartContainerAsync(CancellationToken cancellationToken)
    {
        // The docker CLI may exist without an engine; Build() itself throws when no endpoint answers.
        if (TestcontainersSettings.OS.DockerEndpointAuthConfig is null)
        {
            return null;
        }

        PostgreSqlContainer container;
        try
        {
            container = new PostgreSqlBuilder("postgres:16-alpine").Build();
        }
        catch (Exception)
        {
            return null;
        }

        await container.StartAsync(cancellationToken);
        return container;
    }
}
