using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>A real SignalR client over WebSockets that hands each message's latency to the current phase.</summary>
internal sealed class BenchClient : IAsyncDisposable
{
    private Phase? _phase;

    private BenchClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<long, string>(BenchHub.MessageMethod, (sentAt, _) => Volatile.Read(ref _phase)?.Record(Stopwatch.GetElapsedTime(sentAt)));
    }

    public HubConnection Connection { get; }

    public static async Task<BenchClient> ConnectAsync(Uri node, string group, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(node, BenchNodes.HubPath), options =>
            {
                // Negotiation is skipped, so no sticky sessions would be needed behind a load balancer either.
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            })
            .Build();
        var client = new BenchClient(connection);
        await connection.StartAsync(cancellationToken);
        await connection.InvokeAsync(nameof(BenchHub.Join), group, cancellationToken);
        return client;
    }

    public void Attach(Phase? phase) => Volatile.Write(ref _phase, phase);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
