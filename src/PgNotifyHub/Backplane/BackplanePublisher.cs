using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Backplane;

/// <summary>
/// Publishes the frames of every hub of this node, in the order they were handed over, through one loop that sends
/// whatever has queued meanwhile as one statement in one transaction. PostgreSQL serialises notifying commits
/// cluster-wide, so a transaction per message caps a node at a few thousand messages a second, while a batch costs
/// about one commit.
/// </summary>
internal sealed class BackplanePublisher : IAsyncDisposable
{
    /// <summary>PostgreSQL refuses payloads of 8,000 bytes or more.</summary>
    public const int MaxNotifyPayloadBytes = 7999;

    /// <summary>The largest frame whose Base64 text, 4 ASCII characters per 3 bytes, fits a NOTIFY payload.</summary>
    public const int MaxInlineFrameBytes = MaxNotifyPayloadBytes / 4 * 3;

    /// <summary>Starts a payload that carries the id of a spilled frame instead of the frame; never a Base64 character.</summary>
    public const char SpilledMarker = '#';

    private const int QueueCapacity = 10_000;
    private const int MaxBatchMessages = 500;
    private const int MaxBatchPayloadChars = 1 << 20;

    private const string NotifySql =
        "SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(channel, payload, n) ORDER BY n";

    private const string SpillSql = "INSERT INTO pgnotifyhub.backplane_messages (payload) VALUES ($1) RETURNING id";

    // Full: senders wait for room, as they would for a slow Redis connection; nothing is dropped.
    private readonly Channel<Publication> _queue = Channel.CreateBounded<Publication>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly BackplaneDatabase _database;
    private readonly PgNotifyHubBackplaneOptions _options;
    private readonly ILogger<BackplanePublisher> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private Task? _cleanup;
    private NpgsqlConnection? _connection;
    private int _failures;

    public BackplanePublisher(BackplaneDatabase database, IOptions<PgNotifyHubBackplaneOptions> options, ILogger<BackplanePublisher> logger)
    {
        _database = database;
        _options = options.Value;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>Completes once the frame's NOTIFY is committed; throws what PostgreSQL threw.</summary>
    public async Task PublishAsync(string channel, byte[] frame, CancellationToken cancellationToken)
    {
        var publication = new Publication(channel, frame);
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
        await Task.WhenAll(_loop, _cleanup ?? Task.CompletedTask);
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Publication>(MaxBatchMessages);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var chars = 0;
                while (batch.Count < MaxBatchMessages && chars < MaxBatchPayloadChars && _queue.Reader.TryRead(out var publication))
                {
                    batch.Add(publication);
                    chars += publication.Payload?.Length ?? 0;
                }

                try
                {
                    await SendAsync(batch, stoppingToken);
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
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
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
        }
    }

    private async Task SendAsync(List<Publication> batch, CancellationToken cancellationToken)
    {
        var spills = batch.Count(publication => publication.Payload is null);
        if (spills > 0)
        {
            await _database.EnsureSchemaAsync(cancellationToken);
        }

        // Kept open between batches: returning it to the pool would make Npgsql reset the session before each batch.
        var connection = _connection ??= await _database.DataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await SendOnAsync(connection, batch, spills, cancellationToken);
        }
        catch
        {
            // Whatever failed may have left the connection broken or inside the transaction: start afresh.
            _connection = null;
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task SendOnAsync(NpgsqlConnection connection, List<Publication> batch, int spills, CancellationToken cancellationToken)
    {
        // The spilled rows and their NOTIFYs commit together, so a row is readable when its NOTIFY arrives.
        await using var transaction = spills > 0 ? await connection.BeginTransactionAsync(cancellationToken) : null;
        if (spills > 0)
        {
            await SpillAsync(connection, transaction!, batch, cancellationToken);
        }

        await using var notify = new NpgsqlCommand(NotifySql, connection, transaction);
        notify.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(publication => publication.Channel)] });
        notify.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(publication => publication.Payload ?? publication.SpilledPayload!)] });
        await notify.ExecuteNonQueryAsync(cancellationToken);
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            _cleanup ??= Task.Run(() => CleanUpAsync(_stopping.Token), CancellationToken.None);
        }
    }

    private static async Task SpillAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Publication> batch, CancellationToken cancellationToken)
    {
        var spilled = batch.Where(publication => publication.Payload is null).ToArray();
        await using var inserts = new NpgsqlBatch(connection, transaction);
        foreach (var publication in spilled)
        {
            inserts.BatchCommands.Add(new NpgsqlBatchCommand(SpillSql) { Parameters = { new NpgsqlParameter<byte[]> { TypedValue = publication.Frame } } });
        }

        await using var reader = await inserts.ExecuteReaderAsync(cancellationToken);
        foreach (var publication in spilled)
        {
            await reader.ReadAsync(cancellationToken);
            publication.SpilledPayload = SpilledMarker + reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await reader.NextResultAsync(cancellationToken);
        }
    }

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
        public string? Payload { get; } = frame.Length <= MaxInlineFrameBytes ? Convert.ToBase64String(frame) : null;

        public string? SpilledPayload { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
