using System.Net;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// What must hold after any storm of hostile input: nothing escaped as an error, every connection the storm opened
/// was given back, and the server still serves well-behaved clients, exactly as many as it has slots for.
/// </summary>
public static class StormAftermath
{
    /// <summary>No log at Error or above, from the library or from ASP.NET Core, except the events named.</summary>
    public static void AssertNoErrorLogged(InMemoryLoggerProvider logs, string context, params string[] allowedEvents)
    {
        var errors = logs.Entries.Where(e => e.Level >= LogLevel.Error && !allowedEvents.Contains(e.EventId.Name)).ToList();
        Assert.True(errors.Count == 0, $"{context}: {errors.Count} error(s) logged, first: {errors.FirstOrDefault()}");
    }

    /// <summary>Returns once the server has closed every connection it opened (event 401 as often as 400).</summary>
    public static async Task ConnectionsSettledAsync(InMemoryLoggerProvider logs)
    {
        var opened = logs.Entries.Count(e => e.IsFromLibrary && e.EventId.Name == "ConnectionOpened");
        if (opened > 0)
        {
            await logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ConnectionClosed", opened).OrTimeout();
        }
    }

    /// <summary>
    /// After a storm on <paramref name="host"/> (configured with <c>MaxConnections = slots</c>): no error was logged, the
    /// active-connections gauge is back at zero, exactly <paramref name="slots"/> well-behaved clients of every transport
    /// connect and one more is refused with 503, and each hears its own audience and nothing of another.
    /// </summary>
    public static async Task AssertServesExactlyItsSlotsAsync(NotifyTestHost host, MeterTotals meter, int slots, string context)
    {
        await ConnectionsSettledAsync(host.Logs);
        AssertNoErrorLogged(host.Logs, context);
        Assert.True(
            (meter["pgnotifyhub.connection.active", "websocket"], meter["pgnotifyhub.connection.active", "signalr"]) == (0, 0),
            $"{context}: pgnotifyhub.connection.active is websocket {meter["pgnotifyhub.connection.active", "websocket"]}, signalr {meter["pgnotifyhub.connection.active", "signalr"]} after the storm.");

        var clients = new List<(NotifyTestClient Client, string Audience)>();
        for (var i = 0; i < slots; i++)
        {
            var audience = Names.Audience("after");
            var client = (i % 4) switch
            {
                0 => await host.ConnectAsync(Transport.WebSocket, audience),
                1 => await host.ConnectAsync(Transport.SignalR, audience),
                2 => await host.ConnectSequencedAsync(Transport.WebSocket, audience),
                _ => await host.ConnectAsync(Transport.SignalRLongPolling, audience),
            };
            clients.Add((client, audience));
        }

        var refused = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, Names.Audience(), TestContext.Current.CancellationToken).OrTimeout();
        Assert.True(refused == HttpStatusCode.ServiceUnavailable, $"{context}: connection {slots + 1} got {refused}, not 503: a slot was still taken, or one too many was free.");
        foreach (var (client, audience) in clients)
        {
            await host.AssertHearsOnlyItsOwnAudienceAsync(client, audience, Names.Audience("foreign"));
        }
    }
}
