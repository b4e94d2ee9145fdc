using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>The server's listener connection as PostgreSQL sees it.</summary>
internal static class ListenerBackend
{
    /// <summary>
    /// The process id of the listener's backend. The server under test connects with its own application name
    /// (<see cref="Settings.Server"/>), so its listener is the only such backend.
    /// </summary>
    public static async Task<int> FindAsync(PostgresFixture postgres, string applicationName)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var backends = new List<int>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            backends.Add(reader.GetInt32(0));
        }

        return Assert.Single(backends);
    }
}
