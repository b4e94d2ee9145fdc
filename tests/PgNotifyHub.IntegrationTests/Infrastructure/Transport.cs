namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>The two ways a client receives notifications; most behaviour is tested on both.</summary>
public enum Transport
{
    SignalR,
    WebSocket,
}
