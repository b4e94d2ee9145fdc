namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>How a test client receives notifications; most behaviour is tested on both transports.</summary>
public enum Transport
{
    SignalR,
    WebSocket,

    /// <summary>SignalR over long polling, whose server side sees a copy of the request rather than the request.</summary>
    SignalRLongPolling,

    /// <summary>Server-Sent Events: the sequenced envelope as events, with resync and position notices.</summary>
    EventStream,
}
