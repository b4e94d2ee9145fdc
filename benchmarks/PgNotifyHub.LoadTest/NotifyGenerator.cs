using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// The sender: one PostgreSQL connection, one autocommit statement per batch, so each batch is one transaction
/// whose notifies PostgreSQL delivers at its commit. A batch's commit time is taken right after the statement
/// returns (the reply comes after the commit), in the same process and clock as the clients' receive times.
/// </summary>
internal sealed class NotifyGenerator : IAsyncDisposable
{
    public const string Audience = "bench";

    // count(...) makes it one result row; pg_notify returns void, which count() counts.
    private const string BatchSql =
        "SELECT count(pg_notify($1, 'bench,{\"i\":' || g || ',\"b\":' || $4 || '}')) FROM generate_series($2::bigint, $3::bigint) AS g";

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlCommand _batch;
    private readonly NpgsqlCommand _single;

    private NotifyGenerator(NpgsqlConnection connection)
    {
        _connection = connection;
        _batch = new NpgsqlCommand(BatchSql, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint },
                new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint },
                new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer },
            },
        };
        _single = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text },
            },
        };
    }

    /// <summary>False after a failure or cancellation broke the connection: open a new generator.</summary>
    public bool IsUsable => _connection.FullState == System.Data.ConnectionState.Open;

    public static async Task<NotifyGenerator> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "pgnotifyhub-bench-sender" };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            var generator = new NotifyGenerator(connection);
            await generator._batch.PrepareAsync(cancellationToken);
            await generator._single.PrepareAsync(cancellationToken);
            return generator;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>One statement, one transaction: <paramref name="count"/> notifies numbered from <paramref name="firstSequence"/>.</summary>
    public async Task<BatchRecord> SendBatchAsync(string channel, long firstSequence, int count, int batch, CancellationToken cancellationToken)
    {
        ((NpgsqlParameter<string>)_batch.Parameters[0]).TypedValue = channel;
        ((NpgsqlParameter<long>)_batch.Parameters[1]).TypedValue = firstSequence;
        ((NpgsqlParameter<long>)_batch.Parameters[2]).TypedValue = firstSequence + count - 1;
        ((NpgsqlParameter<int>)_batch.Parameters[3]).TypedValue = batch;
        var sent = await _batch.ExecuteScalarAsync(cancellationToken);
        var committedAt = Stopwatch.GetTimestamp();
        return sent is long notified && notified == count
            ? new BatchRecord(firstSequence, count, committedAt)
            : throw new InvalidOperationException($"A batch of {count} notifies reported {sent}.");
    }

    /// <summary>Sends <paramref name="total"/> notifies in statements of <paramref name="batchSize"/>, each after the previous one's commit.</summary>
    public async Task<List<BatchRecord>> SendAsFastAsPossibleAsync(string channel, long firstSequence, int total, int batchSize, CancellationToken cancellationToken)
    {
        var batches = new List<BatchRecord>((total + batchSize - 1) / batchSize);
        for (var sent = 0; sent < total; sent += batchSize)
        {
            batches.Add(await SendBatchAsync(channel, firstSequence + sent, Math.Min(batchSize, total - sent), batches.Count, cancellationToken));
        }

        return batches;
    }

    /// <summary>
    /// A steady load: every 10 ms, one statement with the notifies due by then (rate/100 when on time). A late tick
    /// catches up in statements of at most <paramref name="maxBatchSize"/>, so the total rate holds.
    /// </summary>
    public async Task<List<BatchRecord>> SendPacedAsync(string channel, long firstSequence, int ratePerSecond, TimeSpan duration, int maxBatchSize, CancellationToken cancellationToken)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var batches = new List<BatchRecord>((int)(duration.TotalMilliseconds / 10) + 1);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        while (sent < total && await timer.WaitForNextTickAsync(cancellationToken))
        {
            var due = (int)Math.Min(total, ratePerSecond * Stopwatch.GetElapsedTime(start).TotalSeconds);
            while (sent < due)
            {
                var count = Math.Min(maxBatchSize, due - sent);
                batches.Add(await SendBatchAsync(channel, firstSequence + sent, count, batches.Count, cancellationToken));
                sent += count;
            }
        }

        return batches;
    }

    /// <summary>A control message, <c>bench,{json}</c>: an end marker or a readiness probe.</summary>
    public async Task SendControlAsync(string channel, string json, CancellationToken cancellationToken)
    {
        ((NpgsqlParameter<string>)_single.Parameters[0]).TypedValue = channel;
        ((NpgsqlParameter<string>)_single.Parameters[1]).TypedValue = Audience + "," + json;
        await _single.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _batch.DisposeAsync();
        await _single.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
