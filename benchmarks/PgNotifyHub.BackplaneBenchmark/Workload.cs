using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR.Client;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>
/// One run on fresh nodes: connect the clients, warm up, then a throughput phase (every sender sends its next message
/// as soon as the hub method returned) and a latency phase (all senders together at a fixed rate, well below it).
/// </summary>
internal sealed class Workload(BenchOptions options)
{
    private const int WarmUpSendsPerSender = 50;

    public async Task<RunResult> RunAsync(Backplane backplane, string postgres, string? redis, CpuMeter cpu, int run, CancellationToken cancellationToken)
    {
        var prefix = $"bench{run}_{Guid.NewGuid().ToString("N")[..8]}_";
        await using var nodes = await BenchNodes.StartAsync(backplane, options.Nodes, postgres, redis, prefix, cancellationToken);
        var addresses = nodes.Addresses;
        var clients = new List<BenchClient>();
        try
        {
            for (var i = 0; i < options.Clients; i++)
            {
                clients.Add(await BenchClient.ConnectAsync(addresses[i % addresses.Count], Group(i), cancellationToken));
            }

            var payload = new string('x', options.PayloadBytes);
            await RunPhaseAsync(clients, WarmUpSendsPerSender, interval: null, payload, cpu, cancellationToken);
            var throughput = await RunPhaseAsync(clients, options.Messages, interval: null, payload, cpu, cancellationToken);
            var latencySends = (int)Math.Max(1, options.Rate * options.LatencyDuration.TotalSeconds / options.Senders);
            var latency = await RunPhaseAsync(clients, latencySends, TimeSpan.FromSeconds((double)options.Senders / options.Rate), payload, cpu, cancellationToken);
            return new RunResult(backplane, run, throughput, latency);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private string Group(int client) => "g" + GroupOf(client).ToString(CultureInfo.InvariantCulture);

    private int GroupOf(int client) => (options.GroupsSpanNodes ? client / options.Nodes : client) % options.Groups;

    private int Members(int group) => Enumerable.Range(0, options.Clients).Count(client => GroupOf(client) == group);

    /// <param name="clients">All clients; the first <see cref="BenchOptions.Senders"/> send.</param>
    /// <param name="sendsPerSender">Sends of each sender; sender j's k-th goes to group (j + k) mod groups.</param>
    /// <param name="interval">Null: send back to back. Else each sender's period, the senders evenly staggered.</param>
    /// <param name="payload">The filler.</param>
    /// <param name="cpu">Measures what the phase cost the machine.</param>
    /// <param name="cancellationToken">Stops the phase.</param>
    private async Task<PhaseResult> RunPhaseAsync(List<BenchClient> clients, int sendsPerSender, TimeSpan? interval, string payload, CpuMeter cpu, CancellationToken cancellationToken)
    {
        long expected = 0;
        for (var sender = 0; sender < options.Senders; sender++)
        {
            for (var k = 0; k < sendsPerSender; k++)
            {
                expected += Members((sender + k) % options.Groups);
            }
        }

        var phase = new Phase(expected);
        foreach (var client in clients)
        {
            client.Attach(phase);
        }

        var cpuAtStart = cpu.Read();
        var start = Stopwatch.GetTimestamp();
        var senders = Enumerable.Range(0, options.Senders).Select(sender => Task.Run(
            async () =>
            {
                var connection = clients[sender].Connection;
                for (var k = 0; k < sendsPerSender; k++)
                {
                    if (interval is { } period)
                    {
                        var due = period * k + period * sender / options.Senders - Stopwatch.GetElapsedTime(start);
                        if (due > TimeSpan.Zero)
                        {
                            await Task.Delay(due, cancellationToken);
                        }
                    }

                    await connection.InvokeAsync(nameof(BenchHub.Send), "g" + ((sender + k) % options.Groups).ToString(CultureInfo.InvariantCulture), Stopwatch.GetTimestamp(), payload, cancellationToken);
                }
            },
            cancellationToken));
        try
        {
            await Task.WhenAll(senders).WaitAsync(options.PhaseTimeout, cancellationToken);
            await phase.Complete.WaitAsync(options.PhaseTimeout - Stopwatch.GetElapsedTime(start), cancellationToken);
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"  phase timed out after {options.PhaseTimeout}: {phase.Received} of {phase.Expected} deliveries arrived");
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        var cpuUsed = cpu.Read() - cpuAtStart;
        foreach (var client in clients)
        {
            client.Attach(null);
        }

        return new PhaseResult((long)options.Senders * sendsPerSender, phase.Expected, phase.Received, elapsed, phase.Percentile(50), phase.Percentile(99), phase.Percentile(100), cpuUsed);
    }
}
