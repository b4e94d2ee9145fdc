using System.Text.Json;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server process's console log in the format <c>Logging:Console:FormatterName</c> asks for.</summary>
[Collection(SharedPostgres.Name)]
public sealed class ServerLoggingTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Json_logs_are_one_JSON_object_per_line_and_a_raw_sockets_connection_log_carries_its_id_and_transport_in_a_scope()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await ServerProcess.StartAsync(Launch(new()
        {
            ["Logging:Console:FormatterName"] = "json",
            ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
            ["Logging:LogLevel:PgNotifyHub"] = "Debug",
        }));

        await using (var socket = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: cancellationToken).OrTimeout())
        {
            var opened = await server.WaitForLineAsync(line => line.Contains("\"EventId\":400", StringComparison.Ordinal)).OrTimeout();

            using var entry = JsonDocument.Parse(opened);
            var state = entry.RootElement.GetProperty("State");
            Assert.Equal("Debug", entry.RootElement.GetProperty("LogLevel").GetString());
            Assert.Equal("websocket", state.GetProperty("Transport").GetString());
            var connectionId = state.GetProperty("ConnectionId").GetString();
            Assert.False(string.IsNullOrEmpty(connectionId));
            Assert.Contains(entry.RootElement.GetProperty("Scopes").EnumerateArray(), scope =>
                scope.ValueKind == JsonValueKind.Object
                && scope.TryGetProperty("Transport", out var transport) && transport.GetString() == "websocket"
                && scope.TryGetProperty("ConnectionId", out var id) && id.GetString() == connectionId);
        }

        // The socket's end is logged in the same scope, by the sink that ran it.
        var ended = await server.WaitForLineAsync(line => line.Contains("\"EventId\":404", StringComparison.Ordinal)).OrTimeout();
        Assert.Contains("\"Transport\":\"websocket\"", ended, StringComparison.Ordinal);

        var lines = server.Output.Split(Environment.NewLine);
        Assert.NotEmpty(lines);
        Assert.All(lines, line =>
        {
            using var parsed = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, parsed.RootElement.ValueKind);
        });
    }

    [Fact]
    public async Task Systemd_logs_carry_the_syslog_priority_of_their_level()
    {
        await using var server = await ServerProcess.StartAsync(Launch(new() { ["Logging:Console:FormatterName"] = "systemd" }));

        // "Now listening on" is Information: priority 6.
        Assert.StartsWith("<6>Microsoft.Hosting.Lifetime[14] Now listening on: ", await server.WaitForLineAsync(line => line.Contains("Now listening on", StringComparison.Ordinal)).OrTimeout(), StringComparison.Ordinal);
    }

    private ServerLaunch Launch(Dictionary<string, string> logging)
    {
        var settings = new Dictionary<string, string>(logging)
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = Names.Channel(),
            ["Authentication:AllowAnonymous"] = "true",
        };
        return new ServerLaunch { Settings = settings };
    }
}
