using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// A SignalR client over WebSockets (negotiation skipped) with a <c>notify</c> handler. The client library parses
/// each invocation and materialises its argument as a <see cref="JsonElement"/>: that allocation is the library's.
/// Handlers of one connection run one at a time, in arrival order.
/// </summary>
internal sealed class SignalRBenchClient : IBenchClient
{
    private readonly HubConnection _connection;
    private volatile bool _disposing;

    private SignalRBenchClient(HubConnection connection, ClientRecorder recorder)
    {
        _connection = connection;
        Recorder = recorder;
        _connection.On<JsonElement>("notify", envelope => MessageReader.ReadEnvelope(envelope, Recorder, Stopwatch.GetTimestamp()));
        _connection.Closed += exception =>
        {
            if (!_disposing)
            {
                Recorder.OnConnectionEnded(exception is null ? "closed by the server" : $"{exception.GetType().Name}: {exception.Message}");
            }

            return Task.CompletedTask;
        };
    }

    public ClientRecorder Recorder { get; }

    public static async Task<SignalRBenchClient> ConnectAsync(Uri hubUri, ClientRecorder recorder, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(hubUri, options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            })
            .Build();
        var client = new SignalRBenchClient(connection, recorder);
        try
        {
            await connection.StartAsync(cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _connection.StopAsync(timeout.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or System.Net.WebSockets.WebSocketException)
        {
            // Cleanup only.
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
