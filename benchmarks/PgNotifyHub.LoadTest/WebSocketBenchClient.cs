using System.Diagnostics;
using System.Net.WebSockets;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// A raw WebSocket client: one receive loop into one reused buffer, the receive time taken as the frame's last
/// read returns, the sequence number read from the bytes in place. No allocation per message.
/// </summary>
internal sealed class WebSocketBenchClient : IBenchClient
{
    private const int InitialBufferSize = 1024;

    private readonly ClientWebSocket _socket;
    private Task? _receiveLoop;
    private volatile bool _disposing;

    private WebSocketBenchClient(ClientWebSocket socket, ClientRecorder recorder)
    {
        _socket = socket;
        Recorder = recorder;
    }

    public ClientRecorder Recorder { get; }

    /// <param name="webSocketUri">ws://host:port/ws.</param>
    /// <param name="invoker">Shared by all clients: the handshake's HTTP connection becomes the socket's.</param>
    /// <param name="recorder">Where received messages go.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    public static async Task<WebSocketBenchClient> ConnectAsync(Uri webSocketUri, HttpMessageInvoker invoker, ClientRecorder recorder, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(webSocketUri, invoker, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var client = new WebSocketBenchClient(socket, recorder);
        client._receiveLoop = client.ReceiveLoopAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "benchmark done", timeout.Token);
                if (_receiveLoop is not null)
                {
                    await _receiveLoop.WaitAsync(timeout.Token);
                }
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or TimeoutException or IOException)
        {
            // Cleanup only: the results are in the recorder already.
        }
        finally
        {
            _socket.Abort();
            _socket.Dispose();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[InitialBufferSize];
        var filled = 0;
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (!_disposing)
                    {
                        Recorder.OnConnectionEnded($"close frame {_socket.CloseStatus} '{_socket.CloseStatusDescription}'");
                    }

                    return;
                }

                filled += result.Count;
                if (!result.EndOfMessage)
                {
                    if (filled == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    continue;
                }

                var timestamp = Stopwatch.GetTimestamp();
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    MessageReader.ReadEnvelope(buffer.AsSpan(0, filled), Recorder, timestamp);
                }
                else
                {
                    Recorder.OnUnreadable();
                }

                filled = 0;
            }
        }
        catch (Exception exception) when (!_disposing)
        {
            Recorder.OnConnectionEnded($"{exception.GetType().Name}: {exception.Message}");
        }
        catch (Exception) when (_disposing)
        {
            // Aborted by DisposeAsync.
        }
    }
}
