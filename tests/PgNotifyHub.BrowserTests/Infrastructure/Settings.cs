using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>The standalone server's configuration for one test, as an operator would write it.</summary>
internal static class Settings
{
    /// <summary>The header the server takes audiences from when a test asks for <c>Audiences:Source=Header</c>.</summary>
    public const string AudienceHeader = "X-Audience";

    /// <param name="postgres">The test database.</param>
    /// <param name="channel">The one channel the server listens on; unique per test.</param>
    /// <param name="applicationName">Shown for the listener's backend in pg_stat_activity; unique when a test must find it.</param>
    /// <param name="audiencesFromHeader">Audiences from <see cref="AudienceHeader"/>, refusing connections without it, instead of everyone in <c>default</c>.</param>
    /// <param name="devSender">Maps <c>POST /dev/notify</c>, in the Development environment, the only one it starts in unless forced.</param>
    /// <param name="signingKey">
    /// Requires a token signed with this HS256 key (<see cref="TestTokens"/>), takes audiences from its
    /// <see cref="TestTokens.TenantClaim"/> claim, and allows no clock skew, so a connection is closed when its token's
    /// <c>exp</c> passes.
    /// </param>
    /// <param name="outbox">
    /// Durable mode, as <c>scripts/run-server.sh</c> sets it up: the schema installed at startup (row-change feeds need
    /// it) and the outbox read by a reader of its own, which starts with what is written once it says it is reading.
    /// </param>
    public static Dictionary<string, string> Server(
        PostgresFixture postgres,
        string channel,
        string? applicationName = null,
        bool audiencesFromHeader = false,
        bool devSender = false,
        string? signingKey = null,
        bool outbox = false)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(postgres.ConnectionString)
            {
                ApplicationName = applicationName ?? "PgNotifyHub browser test",
            }.ConnectionString,
            ["PgNotifyHub:Channels:0"] = channel,
            ["DevNotify:Enabled"] = devSender ? "true" : "false",
            // These pages connect without tokens; the server refuses to start open unless told to.
            ["Authentication:AllowAnonymous"] = "true",
        };
        if (devSender)
        {
            settings["ASPNETCORE_ENVIRONMENT"] = "Development";
        }

        if (signingKey is not null)
        {
            settings["Authentication:AllowAnonymous"] = "false";
            settings["Authentication:Jwt:SigningKey"] = signingKey;
            settings["Authentication:Jwt:ClockSkew"] = "00:00:00";
            settings["Audiences:Source"] = "Claim";
            settings["Audiences:Claim"] = TestTokens.TenantClaim;
            // The topics of the token's own tenant, for the clients' subscribe().
            settings["Topics:Allow:0"] = "topic:{" + TestTokens.TenantClaim + "}:*";
        }

        if (outbox)
        {
            settings["PgNotifyHub:Outbox:Enabled"] = "true";
            settings["PgNotifyHub:Outbox:InstallSchema"] = "true";
            settings["PgNotifyHub:Outbox:ReaderName"] = "browser-test-" + Guid.NewGuid().ToString("N");
        }

        if (audiencesFromHeader)
        {
            settings["Audiences:Source"] = "Header";
            settings["Audiences:Header"] = AudienceHeader;
        }

        return settings;
    }

    /// <summary>
    /// The line a server started with <c>outbox</c> logs once its reader knows where it starts: what is written from
    /// then on reaches its clients.
    /// </summary>
    public static bool OutboxReading(string line) => line.Contains("is reading pgnotifyhub.outbox", StringComparison.Ordinal);
}
