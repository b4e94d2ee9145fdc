using System.Net;
using System.Net.Sockets;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>A port nothing listens on right now, for a process that must be told its port in advance.</summary>
public static class FreePort
{
    /// <summary>Binds port 0 on the loopback and releases what the system gave: someone else may take it meanwhile, rarely.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
