using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;

namespace PgNotifyHub.Backplane;

/// <summary>
/// Receives one hub's backplane channel from the listener's connection and hands each frame to the lifetime manager,
/// in the order the channel delivered them, from one loop that <see cref="DisposeAsync"/> awaits.
/// </summary>
internal sealed class BackplaneReceiver : IChannelConsumer, IAsyncDisposable
{
    // Deep enough to ride out a burst while clients flush; a node that stays this far behind drops, and says so.
    private const int ReceiveQueueCapacity = 100_000;

    // Bounds what a node holds for clients that do not read: beyond it, receiving waits for the oldest message's writes.
    private const int MaxHandlingInFlight = 64;

    // Synchronous continuations: the dispatcher's write runs the idle receive loop on its own thread, rather than
    // queueing it behind the thread pool's other work; the loop awaits only the reads of spilled frames.
    private readonly Channel<(string Payload, Activity? Trace)> _received = Channel.CreateBounded<(string Payload, Activity? Trace)>(
        new BoundedChannelOptions(ReceiveQueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly string _hubName;
    private readonly string _channel;
    private readonly BackplaneDatabase _database;
    private readonly TimeSpan _spillRetention;
    private readonly Func<BackplaneFrame, Task> _handle;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IDisposable _registration;
    private readonly Task _receiving;
    private int _dropping;

    /// <param name="hubName">The hub, for logs.</param>
    /// <param name="channel">The hub's backplane channel.</param>
    /// <param name="consumers">Where the channel is registered, which LISTENs on it.</param>
    /// <param name="database">Where spilled frames are read.</param>
    /// <param name="spillRetention">How long spilled frames are kept, for the log when one is missing.</param>
    /// <param name="handle">Handles one frame; its writes may complete after it returns.</param>
    /// <param name="logger">The lifetime manager's logger.</param>
    public BackplaneReceiver(
        string hubName,
        string channel,
        ChannelConsumers consumers,
        BackplaneDatabase database,
        TimeSpan spillRetention,
        Func<BackplaneFrame, Task> handle,
        ILogger logger)
    {
        _hubName = hubName;
        _channel = channel;
        _database = database;
        _spillRetention = spillRetention;
        _handle = handle;
        _logger = logger;
        _registration = consumers.Register(channel, this);
        _receiving = Task.Run(() => ReceiveAsync(_stopping.Token));
    }

    /// <summary>Cancelled when the receiver stops.</summary>
    public CancellationToken Stopping => _stopping.Token;

    void IChannelConsumer.OnNotification(string payload, Activity? trace)
    {
        if (_received.Writer.TryWrite((payload, trace)))
        {
            return;
        }

        if (Interlocked.Exchange(ref _dropping, 1) == 0)
        {
            Log.BackplaneReceiveQueueFull(_logger, _hubName, ReceiveQueueCapacity);
        }
        else
        {
            Log.BackplaneMessageDropped(_logger, _hubName);
        }
    }

    void IChannelConsumer.OnListenerReconnected() => Log.BackplaneMessagesLost(_logger, _hubName);

    /// <summary>Stops receiving: no frame is handled after this completes.</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        await _receiving;
    }

    /// <summary>Stops receiving without waiting for the loop, for a synchronous disposal.</summary>
    public void Stop()
    {
        _registration.Dispose();
        _received.Writer.TryComplete();
        _stopping.Cancel();
    }

    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        // Messages are handled one after the other, but the writes of one need not finish before the next is
        // handled: one socket slow to flush would hold every other connection's next message back. A connection
        // still gets them in order, as its writes queue on its own lock in the order they were issued.
        var inFlight = new Queue<Task>();
        try
        {
            await foreach (var (payload, trace) in _received.Reader.ReadAllAsync(stoppingToken))
            {
                foreach (var text in BackplanePayload.Split(payload))
                {
                    // One span per frame, under the dispatch that handed it over; it ends once the frame's writes are issued.
                    using var receive = PgNotifyHubTracing.StartBackplaneReceive(trace, _channel, _hubName, spilled: BackplanePayload.SpilledId(text) is not null);
                    try
                    {
                        if (await ReadFrameAsync(text, stoppingToken) is { } frame)
                        {
                            PgNotifyHubTracing.BackplaneFrameRead(receive, receive is null ? null : FrameKindName(frame.Kind));
                            inFlight.Enqueue(_handle(frame));
                        }
                    }
                    catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                    {
                        PgNotifyHubTracing.Failed(receive, exception);
                        Log.BackplaneMessageFailed(_logger, exception, _hubName);
                    }

                    while (inFlight.TryPeek(out var oldest) && (oldest.IsCompleted || inFlight.Count > MaxHandlingInFlight))
                    {
                        await ObserveAsync(inFlight.Dequeue(), stoppingToken);
                    }
                }

                if (_received.Reader.Count == 0)
                {
                    Volatile.Write(ref _dropping, 0);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static string FrameKindName(FrameKind kind) => kind switch
    {
        FrameKind.Invocation => "invocation",
        FrameKind.GroupCommand => "group_command",
        FrameKind.Ack => "ack",
        FrameKind.Completion => "completion",
        _ => "unknown",
    };

    private async Task ObserveAsync(Task handling, CancellationToken stoppingToken)
    {
        try
        {
            await handling;
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
        {
            Log.BackplaneMessageFailed(_logger, exception, _hubName);
        }
    }

    private async Task<BackplaneFrame?> ReadFrameAsync(string text, CancellationToken cancellationToken)
    {
        if (BackplanePayload.SpilledId(text) is not { } id)
        {
            return BackplaneFrame.Read(Convert.FromBase64String(text));
        }

        // Awaited in line: a large message delays the ones behind it, but never overtakes or is overtaken.
        if (await _database.ReadSpilledAsync(id, cancellationToken) is { } bytes)
        {
            return BackplaneFrame.Read(bytes);
        }

        Log.BackplaneSpillMissing(_logger, _hubName, id, _spillRetention);
        return null;
    }
}
