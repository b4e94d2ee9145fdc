using System.Collections.Concurrent;

namespace PgNotifyHub.LoadTest;

/// <summary>Clients of one transport, connected in parallel; failures to connect are counted, with the first error kept.</summary>
internal sealed class ClientSet : IAsyncDisposable
{
    private readonly Transport _transport;
    private readonly BenchServer _server;
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) });
    private readonly List<IBenchClient> _clients = [];

    public ClientSet(Transport transport, BenchServer server)
    {
        _transport = transport;
        _server = server;
    }

    public IReadOnlyList<IBenchClient> Clients => _clients;

    public int Failed { get; private set; }

    public string? FirstError { get; private set; }

    /// <summary>Connects <paramref name="count"/> more clients, <paramref name="parallelism"/> at a time.</summary>
    /// <param name="count">How many to add.</param>
    /// <param name="recorderFor">The recorder of the client with this index within the set.</param>
    /// <param name="parallelism">Connects in flight at once.</param>
    /// <param name="cancellationToken">Stops connecting; clients already connected stay in the set.</param>
    public async Task AddAsync(int count, Func<int, ClientRecorder> recorderFor, int parallelism, CancellationToken cancellationToken)
    {
        var firstIndex = _clients.Count;
        var connected = new IBenchClient?[count];
        var errors = new ConcurrentQueue<string>();
        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
                async (offset, token) =>
                {
                    try
                    {
                        var recorder = recorderFor(firstIndex + offset);
                        connected[offset] = _transport switch
                        {
                            Transport.WebSocket => await WebSocketBenchClient.ConnectAsync(_server.WebSocketUri, _invoker, recorder, token),
                            Transport.EventStream => await EventStreamBenchClient.ConnectAsync(_server.EventsUri, _invoker, recorder, token),
                            _ => await SignalRBenchClient.ConnectAsync(_server.HubUri, recorder, token),
                        };
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        errors.Enqueue($"{exception.GetType().Name}: {Innermost(exception).Message}");
                    }
                });
        }
        finally
        {
            _clients.AddRange(connected.OfType<IBenchClient>());
            Failed += errors.Count;
            FirstError ??= errors.TryPeek(out var first) ? first : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Each close is bounded (2 s for a raw socket or a stream, 5 s for SignalR); many at once keep 10,000 of them quick.
        await Parallel.ForEachAsync(_clients, new ParallelOptions { MaxDegreeOfParallelism = 256 }, (client, _) => client.DisposeAsync());
        _clients.Clear();
        _invoker.Dispose();
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }
}
