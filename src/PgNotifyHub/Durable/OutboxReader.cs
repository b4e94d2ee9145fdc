using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Postgres;

namespace PgNotifyHub.Durable;

/// <summary>
/// Reads <c>pgnotifyhub.outbox</c> in order and hands each message to the dispatcher, like a NOTIFY of its channel,
/// so it is parsed, numbered and fanned out in the one place everything else is. Woken by the doorbell channel, and
/// by a poll in case a doorbell went down with a connection. How far it got is kept in <c>pgnotifyhub.readers</c>, so
/// after a restart it goes on from there.
/// </summary>
internal sealed class OutboxReader : BackgroundService, IChannelConsumer
{
    public const string DoorbellChannel = "pgnotifyhub_outbox";

    private const int BatchSize = 500;

    // Rows of transactions older than every running one are final: no row can later commit before them. The order
    // names the table's columns: a bare "xid" would sort by the output column, the xid as text.
    private const string ReadBatch =
        """
        SELECT o.xid::text, o.id, o.channel, o.audience, o.payload::text FROM pgnotifyhub.outbox o
        WHERE (o.xid, o.id) > ($1::text::xid8, $2) AND o.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY o.xid, o.id LIMIT $3
        """;

    private const string ReadLastFinished =
        """
        SELECT o.xid::text, o.id FROM pgnotifyhub.outbox o WHERE o.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY o.xid DESC, o.id DESC LIMIT 1
        """;

    // The oldest message not read yet: one a transaction still running holds back, since rows are read only once every
    // older transaction has ended. Its age is what a client waits for.
    private const string ReadOldestUnread =
        """
        SELECT extract(epoch FROM clock_timestamp() - o.created_at)::float8 FROM pgnotifyhub.outbox o
        WHERE (o.xid, o.id) > ($1::text::xid8, $2) ORDER BY o.xid, o.id LIMIT 1
        """;

    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly NotificationQueue _queue;
    private readonly ChannelConsumers _consumers;
    private readonly PgNotifyHubOptions _options;
    private readonly PgNotifyHubOutboxOptions _outbox;
    private readonly IServiceProvider _services;
    private NpgsqlDataSource _dataSource = null!;
    private bool _ownsDataSource;
    private readonly TimeProvider _time;
    private readonly ILogger<OutboxReader> _logger;
    private (string Xid, long Id) _position;
    private double _lagSeconds = double.NaN;
    private long _lagMeasuredAt;

    public OutboxReader(
        IOptions<PgNotifyHubOptions> options,
        IServiceProvider services,
        NotificationQueue queue,
        ChannelConsumers consumers,
        PgNotifyHubMetrics metrics,
        TimeProvider time,
        ILogger<OutboxReader> logger)
    {
        _options = options.Value;
        _outbox = _options.Outbox;
        _queue = queue;
        _consumers = consumers;
        _time = time;
        _logger = logger;
        _services = services;
        metrics.ObserveOutboxLag(() => Volatile.Read(ref _lagSeconds));
    }

    /// <summary>The script that creates and upgrades the schema, as shipped in <c>sql/pgnotifyhub.sql</c>.</summary>
    public static string InstallScript() => EmbeddedSql.Read(typeof(OutboxReader).Assembly, "PgNotifyHub.sql");

    public void OnNotification(string payload, Activity? trace) => _doorbell.Writer.TryWrite(true);

    // Doorbells rung while the listener was away are lost; the table is not.
    public void OnListenerReconnected() => _doorbell.Writer.TryWrite(true);

    public override void Dispose()
    {
        base.Dispose();
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_outbox.Enabled)
        {
            return;
        }

        // Its own small pool: the listener's connection is a single session that only LISTENs.
        _dataSource = DataSources.Get(_options, _services, "PgNotifyHub outbox", static connection => connection.MaxPoolSize = 2, out _ownsDataSource);

        using var doorbell = _consumers.Register(DoorbellChannel, this);
        var failures = 0;
        var started = false;
        var lastCleanup = _time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!started)
                {
                    await StartReadingAsync(stoppingToken);
                    started = true;
                }

                while (await ReadBatchAsync(stoppingToken) == BatchSize)
                {
                }

                // At most once a poll interval: under traffic every doorbell would otherwise cost a second query.
                if (_time.GetElapsedTime(_lagMeasuredAt) >= _outbox.PollInterval)
                {
                    await MeasureLagAsync(stoppingToken);
                }

                if (failures > 0)
                {
                    Log.OutboxRecovered(_logger, failures);
                    failures = 0;
                }

                if (_time.GetElapsedTime(lastCleanup) >= CleanupInterval)
                {
                    await DeleteExpiredAsync(stoppingToken);
                    lastCleanup = _time.GetTimestamp();
                }

                await WaitForDoorbellAsync(_outbox.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                if (failures++ == 0)
                {
                    Log.OutboxFailed(_logger, exception);
                }

                // A pooled connection that PostgreSQL terminated fails once and is discarded: the first retry comes soon,
                // and later ones back off up to the poll interval.
                try
                {
                    await Task.Delay(RetryDelay(failures), _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private TimeSpan RetryDelay(int failures)
    {
        var delay = _options.ReconnectDelayMin * Math.Pow(2, Math.Min(failures - 1, 30));
        return delay < _outbox.PollInterval ? delay : _outbox.PollInterval;
    }

    private TimeSpan CleanupInterval => _outbox.Retention / 10 < TimeSpan.FromMinutes(10) ? _outbox.Retention / 10 : TimeSpan.FromMinutes(10);

    private async Task StartReadingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        if (_outbox.InstallSchema)
        {
            await using var install = new NpgsqlCommand(InstallScript(), connection);
            await install.ExecuteNonQueryAsync(cancellationToken);
            Log.OutboxSchemaInstalled(_logger);
        }

        await using (var saved = new NpgsqlCommand("SELECT xid::text, id, updated_at < now() - $2 FROM pgnotifyhub.readers WHERE name = $1", connection))
        {
            saved.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _outbox.ReaderName });
            saved.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _outbox.Retention });
            await using var row = await saved.ExecuteReaderAsync(cancellationToken);
            if (await row.ReadAsync(cancellationToken))
            {
                _position = (row.GetString(0), row.GetInt64(1));
                if (row.GetBoolean(2))
                {
                    Log.OutboxReaderTooOld(_logger, _outbox.ReaderName, _outbox.Retention);
                }

                Log.OutboxReading(_logger, _outbox.ReaderName, "where it stopped");
                return;
            }
        }

        // A new reader starts after what is already final: it delivers what is sent from now on.
        await using (var last = new NpgsqlCommand(ReadLastFinished, connection))
        await using (var row = await last.ExecuteReaderAsync(cancellationToken))
        {
            _position = await row.ReadAsync(cancellationToken) ? (row.GetString(0), row.GetInt64(1)) : ("0", 0);
        }

        await SavePositionAsync(connection, cancellationToken);
        Log.OutboxReading(_logger, _outbox.ReaderName, "from now on");
    }

    private async Task<int> ReadBatchAsync(CancellationToken cancellationToken)
    {
        // One span per read, the parent of the dispatch of what it read.
        using var span = PgNotifyHubTracing.StartOutboxRead(_outbox.ReaderName);
        try
        {
            var count = await ReadBatchAsync(span, cancellationToken);
            PgNotifyHubTracing.OutboxRead(span, count);
            return count;
        }
        catch (Exception exception) when (PgNotifyHubTracing.Failed(span, exception))
        {
            // Never entered: the filter records the failure on the span and lets the exception go on.
            throw;
        }
    }

    private async Task<int> ReadBatchAsync(Activity? span, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var messages = new List<ReceivedNotification>();
        await using (var read = new NpgsqlCommand(ReadBatch, connection))
        {
            read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _position.Xid });
            read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _position.Id });
            read.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize });
            await using var rows = await read.ExecuteReaderAsync(cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                _position = (rows.GetString(0), rows.GetInt64(1));
                messages.Add(new ReceivedNotification(rows.GetString(2), rows.GetString(3) + "," + rows.GetString(4)) { Origin = span });
            }
        }

        if (messages.Count == 0)
        {
            return 0;
        }

        foreach (var message in messages)
        {
            await _queue.Writer.WriteAsync(message, cancellationToken);
        }

        await SavePositionAsync(connection, cancellationToken);
        return messages.Count;
    }

    private async Task MeasureLagAsync(CancellationToken cancellationToken)
    {
        await using var oldest = _dataSource.CreateCommand(ReadOldestUnread);
        oldest.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _position.Xid });
        oldest.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _position.Id });
        var seconds = await oldest.ExecuteScalarAsync(cancellationToken);
        Volatile.Write(ref _lagSeconds, seconds is double age ? Math.Max(age, 0) : 0);
        _lagMeasuredAt = _time.GetTimestamp();
    }

    private async Task SavePositionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var save = new NpgsqlCommand(
            """
            INSERT INTO pgnotifyhub.readers (name, xid, id) VALUES ($1, $2::text::xid8, $3)
            ON CONFLICT (name) DO UPDATE SET xid = excluded.xid, id = excluded.id, updated_at = now()
            """,
            connection);
        save.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _outbox.ReaderName });
        save.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _position.Xid });
        save.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _position.Id });
        await save.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var delete = _dataSource.CreateCommand("DELETE FROM pgnotifyhub.outbox WHERE created_at < now() - $1");
        delete.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _outbox.Retention });
        var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        Log.OutboxCleanedUp(_logger, deleted, _outbox.Retention);
    }

    // Waits for the doorbell itself, never with a read left behind: a read that outlived its wait would take the next
    // doorbell, and that message would wait for the poll.
    private async Task WaitForDoorbellAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var poll = new CancellationTokenSource(timeout, _time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token);
        try
        {
            await _doorbell.Reader.WaitToReadAsync(wait.Token);
            _doorbell.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Polled: a doorbell may have been lost while the listener had no connection.
        }
    }
}
