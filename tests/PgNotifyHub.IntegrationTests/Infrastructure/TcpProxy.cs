using System.Net;
using System.Net.Sockets;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of the test server, to play network trouble. When down it accepts each
/// connection and resets it at once (counting the attempts); when up it forwards bytes both ways.
/// <see cref="DropAll"/> resets every forwarded connection, as a broken network path would.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<Forwarded> _connections = [];
    private readonly Task _acceptLoop;
    private volatile bool _up;
    private int _refused;
    private int _forwarded;

    public TcpProxy(string targetHost, int targetPort, bool up)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _up = up;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public bool IsUp => _up;

    /// <summary>Connections reset because the proxy was down.</summary>
    public int RefusedConnections => Volatile.Read(ref _refused);

    /// <summary>Connections forwarded to the server.</summary>
    public int ForwardedConnections => Volatile.Read(ref _forwarded);

    /// <summary>The fixture's connection string, pointed at this proxy.</summary>
    public string ConnectionStringFor(string connectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    public void Up() => _up = true;

    /// <summary>New connections are reset; existing ones stay (see <see cref="DropAll"/>).</summary>
    public void Down() => _up = false;

    /// <summary>Resets every forwarded connection, both sides.</summary>
    public void DropAll()
    {
        Forwarded[] connections;
        lock (_lock)
        {
            connections = [.. _connections];
            _connections.Clear();
        }

        foreach (var connection in connections)
        {
            Reset(connection.Client);
            Reset(connection.Server);
        }
    }

    /// <summary>
    /// Existing connections silently stop carrying bytes either way (no reset, no close), as when a
    /// network path dies without telling anyone. New connections are forwarded as usual.
    /// </summary>
    public void BlackHoleExisting()
    {
        lock (_lock)
        {
            foreach (var connection in _connections)
            {
                connection.BlackHoled = true;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        DropAll();
        try
        {
            await _acceptLoop;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stopping.Token);
            if (!_up)
            {
                Reset(client);
                Interlocked.Increment(ref _refused);
                continue;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stopping.Token);
        }
        catch (Exception)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        var connection = new Forwarded(client, server);
        lock (_lock)
        {
            _connections.Add(connection);
        }

        Interlocked.Increment(ref _forwarded);
        await Task.WhenAny(PumpAsync(connection, client, server), PumpAsync(connection, server, client));
        lock (_lock)
        {
            _connections.Remove(connection);
        }

        Reset(client);
        Reset(server);
    }

    private async Task PumpAsync(Forwarded connection, Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    return;
                }

                if (!connection.BlackHoled)
                {
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
                }
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private sealed class Forwarded(Socket client, Socket server)
    {
        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public volatile bool BlackHoled;
    }

    // Linger 0: close sends RST, so the peer sees a broken connection at once, not an orderly end.
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
