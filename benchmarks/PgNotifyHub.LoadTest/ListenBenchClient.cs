using System.Diagnostics;
using Npgsql;

namespace PgNotifyHub.LoadTest;

/// <summary>A plain Npgsql LISTEN connection as a client: what PostgreSQL alone delivers, with no server in between.</summary>
internal sealed class ListenBenchClient : IBenchClient
{
    private readonly NpgsqlConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private ListenBenchClient(NpgsqlConnection connection, ClientRecorder recorder)
    {
        _connection = connection;
        Recorder = recorder;
    }

    public ClientRecorder Recorder { get; }

    public static async Task<ListenBenchClient> ConnectAsync(string connectionString, string channel, ClientRecorder recorder, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "pgnotifyhub-bench-bare" };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        connection.Notification += (_, notification) => MessageReader.ReadNotifyPayload(notification.Payload, recorder, Stopwatch.GetTimestamp());
        await using (var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }

        var client = new ListenBenchClient(connection, recorder);
        client._loop = client.WaitLoopAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        await _connection.DisposeAsync();
        _stop.Dispose();
    }

    private async Task WaitLoopAsync()
    {
        try
        {
            while (true)
            {
                await _connection.WaitAsync(_stop.Token);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Stopped after the run.
        }
        catch (Exception exception)
        {
            Recorder.OnConnectionEnded($"{exception.GetType().Name}: {exception.Message}");
        }
    }
}
