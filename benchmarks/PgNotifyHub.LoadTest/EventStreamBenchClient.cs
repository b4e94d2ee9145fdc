using System.Diagnostics;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// A Server-Sent Events client, as the browser's <c>EventSource</c> reads the stream: one GET that stays open, one
/// reused buffer, the receive time taken as the read that completes an event's <c>data:</c> line returns. Only message
/// events are read; the position and resync events and keep-alive comments are not messages. No allocation per message.
/// </summary>
internal sealed class EventStreamBenchClient : IBenchClient
{
    private const int InitialBufferSize = 4096;

    private readonly HttpResponseMessage _response;
    private readonly Stream _stream;
    private readonly CancellationTokenSource _disposing = new();
    private Task? _receiveLoop;

    private EventStreamBenchClient(HttpResponseMessage response, Stream stream, ClientRecorder recorder)
    {
        _response = response;
        _stream = stream;
        Recorder = recorder;
    }

    public ClientRecorder Recorder { get; }

    /// <param name="eventsUri">http://host:port/events.</param>
    /// <param name="invoker">Shared by all clients; it does not buffer responses, so the stream is read as it comes.</param>
    /// <param name="recorder">Where received messages go.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    public static async Task<EventStreamBenchClient> ConnectAsync(Uri eventsUri, HttpMessageInvoker invoker, ClientRecorder recorder, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, eventsUri);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await invoker.SendAsync(request, cancellationToken);
        try
        {
            response.EnsureSuccessStatusCode();
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var client = new EventStreamBenchClient(response, stream, recorder);
            client._receiveLoop = client.ReceiveLoopAsync();
            return client;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync();
        _response.Dispose();
        try
        {
            if (_receiveLoop is not null)
            {
                await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(2));
            }
        }
        catch (TimeoutException)
        {
            // Cleanup only: the results are in the recorder already.
        }

        _disposing.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[InitialBufferSize];
        var filled = 0;
        var isMessage = true;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var read = await _stream.ReadAsync(buffer.AsMemory(filled), _disposing.Token);
                if (read == 0)
                {
                    Recorder.OnConnectionEnded("the server ended the stream");
                    return;
                }

                var timestamp = Stopwatch.GetTimestamp();
                var start = 0;
                var end = filled + read;
                int newline;
                while ((newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n')) >= 0)
                {
                    var line = buffer.AsSpan(start, newline);
                    start += newline + 1;
                    if (line.IsEmpty)
                    {
                        isMessage = true; // an event ends at a blank line; the next is a message unless it names a type
                    }
                    else if (line.StartsWith("event:"u8))
                    {
                        isMessage = line.EndsWith("message"u8);
                    }
                    else if (isMessage && line.StartsWith("data: "u8))
                    {
                        MessageReader.ReadEnvelope(line["data: "u8.Length..], Recorder, timestamp);
                    }
                }

                filled = end - start;
                buffer.AsSpan(start, filled).CopyTo(buffer);
            }
        }
        catch (Exception exception) when (!_disposing.IsCancellationRequested)
        {
            Recorder.OnConnectionEnded($"{exception.GetType().Name}: {exception.Message}");
        }
        catch (Exception) when (_disposing.IsCancellationRequested)
        {
            // Ended by DisposeAsync.
        }
    }
}
