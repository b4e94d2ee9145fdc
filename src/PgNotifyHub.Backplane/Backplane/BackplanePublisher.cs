using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.Backplane;

/// <summary>
/// Publishes the frames of every hub of this node, in the order they were handed over, through one loop that sends
/// whatever has queued meanwhile as one statement in one transaction. PostgreSQL serialises notifying commits
/// cluster-wide, so a transaction per message caps a node at a few thousand messages a second, while a batch costs
/// about one commit.
/// </summary>
internal sealed class BackplanePublisher : IAsyncDisposable
{
    private const int QueueCapacity = 10_000;
    private const int MaxBatchMessages = 500;
    private const int MaxBatchPayloadChars = 1 << 20;

    private const string NotifySql =
        "SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(channel, payload, n) ORDER BY n";

    // Packed, most batches are one payload: this one skips binding arrays and unnesting them.
    private const string NotifyOneSql = "SELECT pg_notify($1, $2)";

    private const string SpillSql = "INSERT INTO pgnotifyhub.backplane_messages (payload) VALUES ($1) RETURNING id";

    // Full: senders wait for room, as they would for a slow Redis connection; nothing is dropped. Synchronous
    // continuations let a send wake the idle publisher thread directly rather than through the thread pool.
    private readonly Channel<Publication> _queue = Channel.CreateBounded<Publication>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly BackplaneDatabase _database;
    private readonly PgNotifyHubBackplaneOptions _options;
    private readonly ILogger<BackplanePublisher> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _cleanup;
    private NpgsqlConnection? _connection;
    private int _failures;

    public BackplanePublisher(BackplaneDatabase database, IOptions<PgNotifyHubBackplaneOptions> options, ILogger<BackplanePublisher> logger)
    {
        _database = database;
        _options = options.Value;
        _logger = logger;
        // A thread of its own, blocking on PostgreSQL's socket: the answer wakes it at once, where an asynchronous
        // read would wait in the thread pool's queue behind the deliveries and hub calls that keep a busy node busy,
        // and every send waits for that answer.
        new Thread(Run) { IsBackground = true, Name = "PgNotifyHub backplane publisher" }.Start();
    }

    /// <summary>Completes once the frame's NOTIFY is committed; throws what PostgreSQL threw.</summary>
    public async Task PublishAsync(string channel, byte[] frame, CancellationToken cancellationToken)
    {
        // The sender's span, which the batch's span links to; none is kept while nobody traces.
        var publication = new Publication(channel, frame) { Sender = PgNotifyHubTracing.Source.HasListeners() ? Activity.Current?.Context ?? default : default };
        if (!_queue.Writer.TryWrite(publication))
        {
            await _queue.Writer.WriteAsync(publication, cancellationToken);
        }

        await publication.Done.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        // The publisher thread starts the cleanup: once it has stopped, the cleanup can no longer start.
        await _stopped.Task;
        await (_cleanup ?? Task.CompletedTask);
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private void Run()
    {
        var stoppingToken = _stopping.Token;
        var batch = new List<Publication>(MaxBatchMessages);
        try
        {
            while (WaitToRead(stoppingToken))
            {
                var chars = 0;
                while (batch.Count < MaxBatchMessages && chars < MaxBatchPayloadChars && _queue.Reader.TryRead(out var publication))
                {
                    batch.Add(publication);
                    chars += publication.Payload?.Length ?? 0;
                }

                using var publish = PgNotifyHubTracing.Source.HasListeners() ? StartPublishSpan(batch) : null;
                try
                {
                    Send(batch, publish, stoppingToken);
                    foreach (var sent in batch)
                    {
                        sent.Done.TrySetResult();
                    }

                    if (_failures > 0)
                    {
                        Log.BackplanePublishRecovered(_logger, _failures);
                        _failures = 0;
                    }
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    PgNotifyHubTracing.Failed(publish, exception);
                    if (_failures++ == 0)
                    {
                        Log.BackplanePublishFailed(_logger, exception);
                    }
                    else
                    {
                        Log.BackplanePublishRetryFailed(_logger, _failures, exception.Message);
                    }

                    foreach (var failed in batch)
                    {
                        failed.Done.TrySetException(exception);
                    }
                }

                batch.Clear();
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            var stopped = new ObjectDisposedException(nameof(BackplanePublisher), "The backplane is stopping.");
            foreach (var unsent in batch)
            {
                unsent.Done.TrySetException(stopped);
            }

            while (_queue.Reader.TryRead(out var unsent))
            {
                unsent.Done.TrySetException(stopped);
            }

            _stopped.TrySetResult();
        }
    }

    private bool WaitToRead(CancellationToken stoppingToken)
    {
        var wait = _queue.Reader.WaitToReadAsync(stoppingToken);
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private static Activity? StartPublishSpan(List<Publication> batch)
    {
        var channel = batch.TrueForAll(publication => publication.Channel == batch[0].Channel) ? batch[0].Channel : null;
        return PgNotifyHubTracing.StartBackplanePublish(batch.Select(publication => publication.Sender), batch.Count, channel);
    }

    private void Send(List<Publication> batch, Activity? publish, CancellationToken stoppingToken)
    {
        var spills = batch.Count(publication => publication.Payload is null);
        if (spills > 0)
        {
            _database.EnsureSchemaAsync(stoppingToken).GetAwaiter().GetResult();
        }

        // Kept open between batches: returning it to the pool would make Npgsql reset the session before each batch.
        var connection = _connection ??= _database.DataSource.OpenConnectionAsync(stoppingToken).AsTask().GetAwaiter().GetResult();
        try
        {
            var notifies = SendOn(connection, batch, spills, stoppingToken);
            PgNotifyHubTracing.BackplanePublished(publish, notifies, spills);
            if (spills > 0)
            {
                _cleanup ??= Task.Run(() => CleanUpAsync(_stopping.Token), CancellationToken.None);
            }
        }
        catch
        {
            // Whatever failed may have left the connection broken or inside the transaction: start afresh.
            _connection = null;
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Sends the batch; returns how many NOTIFYs carried it.</summary>
    private static int SendOn(NpgsqlConnection connection, List<Publication> batch, int spills, CancellationToken stoppingToken)
    {
        // The spilled rows and their NOTIFYs commit together, so a row is readable when its NOTIFY arrives.
        using var transaction = spills > 0 ? connection.BeginTransaction() : null;
        if (spills > 0)
        {
            Spill(connection, transaction!, batch, stoppingToken);
        }

        var (channels, payloads) = BackplanePayload.Pack(batch.Select(publication => (publication.Channel, publication.Payload ?? publication.SpilledPayload!)));
        using var notify = channels.Length == 1
            ? new NpgsqlCommand(NotifyOneSql, connection, transaction)
            {
                Parameters = { new NpgsqlParameter<string> { TypedValue = channels[0] }, new NpgsqlParameter<string> { TypedValue = payloads[0] } },
            }
            : new NpgsqlCommand(NotifySql, connection, transaction)
            {
                Parameters = { new NpgsqlParameter<string[]> { TypedValue = channels }, new NpgsqlParameter<string[]> { TypedValue = payloads } },
            };
        using (CancelOnStop(notify.Cancel, stoppingToken))
        {
            notify.ExecuteNonQuery();
        }

        transaction?.Commit();
        return channels.Length;
    }

    private static void Spill(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Publication> batch, CancellationToken stoppingToken)
    {
        var spilled = batch.Where(publication => publication.Payload is null).ToArray();
        using var inserts = new NpgsqlBatch(connection, transaction);
        foreach (var publication in spilled)
        {
            inserts.BatchCommands.Add(new NpgsqlBatchCommand(SpillSql) { Parameters = { new NpgsqlParameter<byte[]> { TypedValue = publication.Frame } } });
        }

        using var cancel = CancelOnStop(inserts.Cancel, stoppingToken);
        using var reader = inserts.ExecuteReader();
        foreach (var publication in spilled)
        {
            reader.Read();
            publication.SpilledPayload = BackplanePayload.Spilled(reader.GetInt64(0));
            reader.NextResult();
        }
    }

    // Synchronous I/O takes no token: stopping asks PostgreSQL to cancel the statement instead.
    private static CancellationTokenRegistration CancelOnStop(Action cancel, CancellationToken stoppingToken) =>
        stoppingToken.UnsafeRegister(static cancel => ((Action)cancel!)(), cancel);

    // Started by the first spill: a node that never spills never touches the table, which may not exist.
    private async Task CleanUpAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.SpillRetention);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await _database.DeleteExpiredAsync(stoppingToken);
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    Log.BackplaneSpillCleanupFailed(_logger, exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed class Publication(string channel, byte[] frame)
    {
        public string Channel { get; } = channel;

        public byte[] Frame { get; } = frame;

        /// <summary>The Base64 frame, or null when it is too large and must spill.</summary>
        public string? Payload { get; } = BackplanePayload.Inline(frame);

        public string? SpilledPayload { get; set; }

        public ActivityContext Sender { get; init; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
