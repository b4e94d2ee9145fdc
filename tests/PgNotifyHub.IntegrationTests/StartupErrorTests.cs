using System.Net;
using System.Net.Sockets;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server as a process, started with a setting an operator got wrong: it prints one line on standard
/// error that names the setting and what it may be, no stack trace anywhere, and exits with code 1.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class StartupErrorTests(PostgresFixture postgres)
{
    private const string Prefix = "PgNotifyHub.Server cannot start: ";

    private static readonly Dictionary<string, (Dictionary<string, string> Settings, string[] Expected)> Cases = new()
    {
        ["a connection string with an unknown keyword"] = (
            new() { ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;hots=db" },
            ["ConnectionStrings:Postgres", "'hots'", "did you mean Host?"]),
        ["a connection string with an unreadable value"] = (
            new() { ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=five" },
            ["ConnectionStrings:Postgres", "'port'"]),
        ["a switch that is not true or false"] = (
            new() { ["Authentication:AllowAnonymous"] = "yes" },
            ["Authentication:AllowAnonymous (environment variable Authentication__AllowAnonymous) is 'yes'; it must be true or false."]),
        ["an audience source that does not exist"] = (
            new() { ["Audiences:Source"] = "Cookie" },
            ["Audiences:Source (environment variable Audiences__Source) is 'Cookie'; it must be one of Default, Header, Claim."]),
        ["a duration that is not one"] = (
            new() { ["PgNotifyHub:HeartbeatInterval"] = "15s" },
            ["PgNotifyHub:HeartbeatInterval", "a duration written [d.]hh:mm:ss[.fff], e.g. 00:00:15"]),
        ["a console log format that does not exist"] = (
            new() { ["Logging:Console:FormatterName"] = "xml" },
            ["Logging:Console:FormatterName is 'xml'; it must be one of simple, json, systemd."]),
        ["options the library's validation refuses"] = (
            new() { ["PgNotifyHub:ReconnectDelayMin"] = "00:01:00" },
            ["PgNotifyHub:ReconnectDelayMin (00:01:00) is greater than PgNotifyHub:ReconnectDelayMax (00:00:15)."]),
        ["no authentication decision"] = (
            new() { ["Authentication:AllowAnonymous"] = "false" },
            ["No authentication is configured", "Authentication:AllowAnonymous=true"]),
        ["a signing key too short"] = (
            new() { ["Authentication:Jwt:SigningKey"] = new string('k', 31) },
            ["Authentication:Jwt:SigningKey is 31 bytes long; HS256 needs at least 32 bytes"]),
        ["the development sender in Production"] = (
            new() { ["DevNotify:Enabled"] = "true" },
            ["DevNotify:Enabled is true in the Production environment", "DevNotify:AllowInProduction=true"]),
        ["a list given as one value"] = (
            new() { ["PgNotifyHub:AllowedOrigins"] = "https://app.example.com" },
            ["PgNotifyHub:AllowedOrigins (environment variable PgNotifyHub__AllowedOrigins) is a list", "PgNotifyHub__AllowedOrigins__0"]),
        ["the library's connection string, which the server does not read"] = (
            new() { ["PgNotifyHub:ConnectionString"] = "Host=elsewhere" },
            ["PgNotifyHub:ConnectionString (environment variable PgNotifyHub__ConnectionString) cannot be configured here: this server reads its database from ConnectionStrings:Postgres."]),
        ["misspelt keys in every checked section"] = (
            new()
            {
                ["PgNotifyHub:SendQueueCapasity"] = "100",
                ["PgNotifyHub:Outbox:ReaderNmae"] = "node-1",
                ["PgNotifyHub:Backplane:ChannelPrefix"] = "app_",
                ["Authentication:AllowAnonymus"] = "true",
                ["Authentication:Jwt:Isuer"] = "https://issuer.example",
                ["Audiences:Sorce"] = "Header",
                ["Paths:Healt"] = "/health",
                ["DevNotify:Enable"] = "true",
            },
            [
                "PgNotifyHub:SendQueueCapasity (environment variable PgNotifyHub__SendQueueCapasity) is not a setting of this server; did you mean PgNotifyHub:SendQueueCapacity?",
                "PgNotifyHub:Outbox:ReaderNmae (environment variable PgNotifyHub__Outbox__ReaderNmae) is not a setting of this server; did you mean PgNotifyHub:Outbox:ReaderName?",
                // The backplane is a package of its own, for applications' hubs: this server has none.
                "PgNotifyHub:Backplane is not a setting of this server",
                "did you mean Authentication:AllowAnonymous?",
                "did you mean Authentication:Jwt:Issuer?",
                "did you mean Audiences:Source?",
                "did you mean Paths:Health?",
                "did you mean DevNotify:Enabled?",
            ]),
        ["a key in the wrong section"] = (
            new() { ["Authentication:Audience"] = "pgnotifyhub", ["PgNotifyHub:Retention"] = "1.00:00:00" },
            ["Authentication:Audience (environment variable Authentication__Audience) is not a setting of this server; did you mean Authentication:Jwt:Audience?",
             "did you mean PgNotifyHub:Outbox:Retention?"]),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task A_setting_the_server_cannot_start_with_is_named_on_one_line_and_the_exit_code_is_1(string name)
    {
        var (settings, expected) = Cases[name];

        var exit = await ServerProcess.RunToExitAsync(Launch(settings));

        var line = AssertOneLineError(exit);
        foreach (var text in expected)
        {
            Assert.Contains(text, line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_port_already_in_use_is_named_on_one_line_and_the_exit_code_is_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var exit = await ServerProcess.RunToExitAsync(Launch([]) with { Urls = $"http://127.0.0.1:{port}" });

        var line = AssertOneLineError(exit);
        Assert.Contains($"http://127.0.0.1:{port}: address already in use", line, StringComparison.Ordinal);
        Assert.Contains("--urls, ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_that_is_not_one_is_named_on_one_line_and_the_exit_code_is_1()
    {
        var exit = await ServerProcess.RunToExitAsync(Launch([]) with { Urls = "localhost-8080" });

        var line = AssertOneLineError(exit);
        Assert.Contains("Cannot listen on localhost-8080: Invalid url: 'localhost-8080'.", line, StringComparison.Ordinal);
    }

    // Valid settings everywhere else, so each case shows its own error only.
    private ServerLaunch Launch(Dictionary<string, string> settings)
    {
        var all = new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = Names.Channel(),
            ["Authentication:AllowAnonymous"] = "true",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return new ServerLaunch { Settings = all, Environment = new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" } };
    }

    private static string AssertOneLineError(ServerExit exit)
    {
        Assert.True(exit.ExitCode == 1, $"Expected exit code 1: {exit}");
        var line = Assert.Single(exit.StandardError, text => text.Length > 0);
        Assert.StartsWith(Prefix, line, StringComparison.Ordinal);
        Assert.DoesNotContain(exit.StandardOutput.Concat(exit.StandardError), text => text.Contains("   at ", StringComparison.Ordinal));
        return line;
    }
}
