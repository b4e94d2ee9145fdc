using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// The common shape of an application's traffic: one NOTIFY per transaction (an autocommit <c>SELECT pg_notify(…)</c>),
/// from several sessions at once, at a steady total rate. Message <c>j</c> is due at <c>j / rate</c> seconds and is sent by
/// session <c>j mod sessions</c>; a session that falls behind sends at once until it has caught up, so the total holds.
/// </summary>
/// <remarks>
/// Each payload is <c>{"i":SEQ,"t":SENT,"p":"…"}</c>, padded to a fixed size, where SENT is the Stopwatch timestamp
/// taken just before the statement goes out: CLOCK_MONOTONIC, so a receiver in any process of the machine can subtract
/// it from its own receive time. The latency so includes the commit. The sessions commit with
/// <c>synchronous_commit=off</c>: PostgreSQL serialises notifying commits up to their WAL flush, and on a shared disk the
/// flush alone would cap the rate below what the push path is measured at; the bare LISTEN row shows PostgreSQL's part.
/// </remarks>
internal sealed class PacedSenders : IAsyncDisposable
{
    private readonly NpgsqlConnection[] _connections;
    private readonly NpgsqlCommand[] _commands;

    private PacedSenders(NpgsqlConnection[] connections, NpgsqlCommand[] commands)
    {
        _connections = connections;
        _commands = commands;
    }

    public int Sessions => _connections.Length;

    public static async Task<PacedSenders> OpenAsync(string connectionString, int sessions, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "pgnotifyhub-bench-paced-sender" };
        var connections = new List<NpgsqlConnection>();
        var commands = new List<NpgsqlCommand>();
        try
        {
            for (var session = 0; session < sessions; session++)
            {
                var connection = new NpgsqlConnection(builder.ConnectionString);
                connections.Add(connection);
                await connection.OpenAsync(cancellationToken);
                await using (var setting = new NpgsqlCommand("SET synchronous_commit = off", connection))
                {
                    await setting.ExecuteNonQueryAsync(cancellationToken);
                }

                var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text },
                        new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text },
                    },
                };
                commands.Add(command);
                await command.PrepareAsync(cancellationToken);
            }
        }
        catch
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            throw;
        }

        return new PacedSenders([.. connections], [.. commands]);
    }

    /// <summary>The JSON payload of one message, exactly <paramref name="size"/> bytes when that is enough room.</summary>
    public static string Payload(long sequence, long sentAt, int size)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"{{\"i\":{sequence},\"t\":{sentAt},\"p\":\"");
        return head + new string('x', Math.Max(0, size - head.Length - 2)) + "\"}";
    }

    /// <summary>Sends <paramref name="total"/> messages numbered from <paramref name="firstSequence"/> at <paramref name="ratePerSecond"/>.</summary>
    public async Task<PacedSendResult> SendAsync(string channel, string audience, long firstSequence, int total, double ratePerSecond, int payloadBytes, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var lateness = new double[_connections.Length];
        var sessions = Enumerable.Range(0, _connections.Length).Select(session => Task.Run(
            async () =>
            {
                var command = _commands[session];
                ((NpgsqlParameter<string>)command.Parameters[0]).TypedValue = channel;
                var payload = (NpgsqlParameter<string>)command.Parameters[1];
                for (var index = session; index < total; index += _connections.Length)
                {
                    var due = TimeSpan.FromSeconds(index / ratePerSecond);
                    var wait = due - Stopwatch.GetElapsedTime(start);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                    else
                    {
                        lateness[session] = Math.Max(lateness[session], -wait.TotalSeconds);
                    }

                    var sentAt = Stopwatch.GetTimestamp();
                    payload.TypedValue = audience + "," + Payload(firstSequence + index, sentAt, payloadBytes);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
            },
            cancellationToken)).ToArray();
        await Task.WhenAll(sessions);
        return new PacedSendResult(total, Stopwatch.GetElapsedTime(start).TotalSeconds, lateness.Max());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in _commands)
        {
            await command.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }
}

/// <summary>What the paced senders did: messages sent, how long it took, and how far behind schedule a message was sent at worst.</summary>
internal sealed record PacedSendResult(int Sent, double Seconds, double MaxLatenessSeconds);
