using System.Net;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server whose listener PostgreSQL refuses for a reason retrying alone cannot fix: the refusal is
/// logged at Error with its SQLSTATE and what to fix, again at each retry whose delay is at its cap, and the readiness
/// endpoint names it.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ListenerRefusalTests(PostgresFixture postgres)
{
    public static TheoryData<string, string, string> RefusalsUnderTrust => new()
    {
        { "Database", "3D000", "The database does not exist" },
        { "Username", "28000", "No pg_hba.conf entry admits this host, user and database, or the role does not exist" },
    };

    [Theory]
    [MemberData(nameof(RefusalsUnderTrust))]
    public async Task A_missing_database_or_role_is_logged_at_Error_at_every_capped_retry_and_named_by_readyz(string keyword, string sqlState, string hint)
    {
        var missing = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { [keyword] = Names.Audience("missing") };

        await AssertRefusedAsync(missing.ConnectionString, sqlState, hint);
    }

    [Fact]
    public async Task A_wrong_password_is_logged_at_Error_at_every_capped_retry_and_named_by_readyz()
    {
        // The shared cluster trusts every connection; this one asks for a password over TCP.
        var binDirectory = LocalPostgresCluster.FindBinDirectory() ?? throw new InvalidOperationException(
            "This test needs a PostgreSQL cluster that asks for a password, made from PostgreSQL's server binaries: "
            + "apt-get install -y postgresql, or set PG_BIN to the directory holding initdb and pg_ctl.");
        await using var cluster = await LocalPostgresCluster.StartWithPasswordAsync(binDirectory, "right-" + Guid.NewGuid().ToString("N"), TestContext.Current.CancellationToken);
        var wrong = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = "wrong" };

        await AssertRefusedAsync(wrong.ConnectionString, "28P01", "The password is wrong");
    }

    private async Task AssertRefusedAsync(string connectionString, string sqlState, string hint)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["PgNotifyHub:ReconnectDelayMin"] = "00:00:00.050",
            ["PgNotifyHub:ReconnectDelayMax"] = "00:00:00.200",
            ["Authentication:AllowAnonymous"] = "true",
        }, waitUntilListening: false);

        // The first refusal, then one for each retry whose delay is at the cap: from the third attempt on here.
        await server.Logs.WaitForAsync(entry => entry.EventId.Name == "ListenerRefused", count: 3).OrTimeout();

        Assert.All(server.Logs.Entries.Where(entry => entry.EventId.Name == "ListenerRefused"), refusal =>
        {
            Assert.Equal(LogLevel.Error, refusal.Level);
            Assert.Equal(sqlState, refusal["SqlState"]);
            Assert.Contains(hint, refusal.Message, StringComparison.Ordinal);
        });
        Assert.DoesNotContain(server.Logs.Entries, entry => entry.EventId.Name == "ListenerDisconnected");

        using var http = new HttpClient { BaseAddress = server.BaseUri };
        using var readiness = await http.GetAsync("/readyz", cancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        Assert.StartsWith(
            $"Unhealthy\npgnotifyhub-listener: Unhealthy: Not connected to PostgreSQL ({sqlState}: ",
            await readiness.Content.ReadAsStringAsync(cancellationToken),
            StringComparison.Ordinal);
    }
}
