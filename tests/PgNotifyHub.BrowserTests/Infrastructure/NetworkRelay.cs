using System.Net;
using System.Net.Sockets;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of the server, which a test cuts as a network failure would: the client's
/// connections are reset and new ones refused, while the server and its stream live on. A client reached through it
/// loses its connection without either side closing it, and comes back through it once it is restored.
/// </summary>
internal sealed class NetworkRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<Socket> _open = [];
    private readonly Task _accepting;
    private bool _cut;

    private NetworkRelay(Uri server)
    {
        _server = new IPEndPoint(IPAddress.Parse(server.Host), server.Port);
        _listener.Start();
        BaseUri = new UriBuilder(server) { Port = ((IPEndPoint)_listener.LocalEndpoint).Port }.Uri;
        _accepting = AcceptAsync();
    }

    /// <summary>The server's address through the relay.</summary>
    public Uri BaseUri { get; }

    public static NetworkRelay Start(Uri server) => new(server);

    /// <summary>Resets every relayed connection, and every new one until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        lock (_lock)
        {
            _cut = true;
            foreach (var socket in _open)
            {
                Reset(socket);
            }

            _open.Clear();
        }
    }

    public void Restore()
    {
        lock (_lock)
        {
            _cut = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            lock (_lock)
            {
                if (_cut)
                {
                    Reset(client);
                    return;
                }
            }

            await server.ConnectAsync(_server, _stopping.Token);
            lock (_lock)
            {
                if (_cut)
                {
                    Reset(client);
                    return;
                }

                _open.Add(client);
                _open.Add(server);
            }

            await Task.WhenAll(CopyAsync(client, server), CopyAsync(server, client));
        }
        catch (Exception)
        {
            // The server refused, or the relay is being disposed: the client's connection ends either way.
        }
        finally
        {
            lock (_lock)
            {
                _open.Remove(client);
                _open.Remove(server);
            }

            client.Dispose();
            server.Dispose();
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, _stopping.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), _stopping.Token);
            }

            // An orderly close is passed on as one, so the other direction can still finish.
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // Reset by a cut or by one side: the other side is reset too, as a broken network would leave it.
            Reset(from);
            Reset(to);
        }
    }

    // An abortive close: the peer gets a reset at once rather than an orderly end of stream.
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
