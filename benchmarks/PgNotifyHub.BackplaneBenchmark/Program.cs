using System.Globalization;
using PgNotifyHub.BackplaneBenchmark;
using PgNotifyHub.IntegrationTests.Infrastructure;

// Exit codes: 0 every run delivered everything; 1 a run lost deliveries or failed; 2 setup failed; 64 bad options.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 64;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

LocalPostgresCluster? postgres = null;
RedisServer? redis = null;
var results = new List<RunResult>();
try
{
    try
    {
        var binDirectory = LocalPostgresCluster.FindBinDirectory()
            ?? throw new InvalidOperationException("No PostgreSQL server binaries: apt-get install -y postgresql, or set PG_BIN.");
        // PostgreSQL's defaults, durability included: the backplane turns synchronous_commit off for its own sessions.
        postgres = await LocalPostgresCluster.StartAsync(binDirectory, [], stop.Token);
        Console.WriteLine($"PostgreSQL: {postgres.Description}");
        if (options.Backplanes.Contains(Backplane.Redis))
        {
            redis = await RedisServer.StartAsync(stop.Token);
            Console.WriteLine($"Redis: redis-server on {redis.Configuration}, no persistence");
        }
    }
    catch (Exception exception) when (exception is not OperationCanceledException)
    {
        Console.Error.WriteLine("Setup failed: " + exception.Message);
        return 2;
    }

    Console.WriteLine(
        $"Workload: {options.Nodes} nodes, {options.Clients} clients in {options.Groups} groups ({(options.GroupsSpanNodes ? "each on every node" : "each on one node")}), {options.Senders} senders; "
        + $"throughput phase {options.Messages} sends per sender back to back; latency phase {options.Rate} sends/s for {options.LatencyDuration.TotalSeconds:0} s; "
        + $"payload {options.PayloadBytes} bytes; {Environment.ProcessorCount} cores.");
    var workload = new Workload(options);
    var cpu = new Dictionary<Backplane, CpuMeter>
    {
        [Backplane.Postgres] = new(postgres.PostmasterPid),
        [Backplane.Redis] = new(redis?.Pid),
    };
    // The first run in a process pays for compiling its code paths, and its tiered recompilation: not counted.
    foreach (var backplane in options.Backplanes)
    {
        var warmUp = await workload.RunAsync(backplane, postgres.ConnectionString, redis?.Configuration, cpu[backplane], 0, stop.Token);
        Console.WriteLine("warm-up (not counted) " + Row(warmUp));
    }

    for (var run = 1; run <= options.Repeat; run++)
    {
        // Alternating, so a disturbance of the machine does not favour one backplane.
        var order = run % 2 == 1 ? options.Backplanes : options.Backplanes.Reverse().ToArray();
        foreach (var backplane in order)
        {
            var result = await workload.RunAsync(backplane, postgres.ConnectionString, redis?.Configuration, cpu[backplane], run, stop.Token);
            results.Add(result);
            Console.WriteLine(Row(result));
        }
    }
}
catch (OperationCanceledException)
{
    return 130;
}
finally
{
    if (redis is not null)
    {
        await redis.DisposeAsync();
    }

    if (postgres is not null)
    {
        await postgres.DisposeAsync();
    }
}

Console.WriteLine();
Console.WriteLine("Medians over the runs:");
Console.WriteLine("| backplane | sends/s | deliveries/s | p50 | p99 | paced p50 | paced p99 | CPU µs/send: nodes+clients | server | lost |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var group in results.GroupBy(result => result.Backplane))
{
    var runs = group.ToList();
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"| {group.Key} | {Median(runs, r => r.Throughput.SendsPerSecond):N0} | {Median(runs, r => r.Throughput.DeliveriesPerSecond):N0} | "
        + $"{Median(runs, r => r.Throughput.P50.TotalMilliseconds):0.0} ms | {Median(runs, r => r.Throughput.P99.TotalMilliseconds):0.0} ms | "
        + $"{Median(runs, r => r.Latency.P50.TotalMilliseconds):0.0} ms | {Median(runs, r => r.Latency.P99.TotalMilliseconds):0.0} ms | "
        + $"{Median(runs, r => r.Throughput.ProcessCpuPerSend):0} | {Median(runs, r => r.Throughput.ServerCpuPerSend):0} | "
        + $"{runs.Sum(r => r.Throughput.Lost + r.Latency.Lost)} |"));
}

return results.Any(result => result.Throughput.Lost + result.Latency.Lost > 0) ? 1 : 0;

static string Row(RunResult result) => string.Create(
    CultureInfo.InvariantCulture,
    $"run {result.Run} {result.Backplane,-8}: throughput {result.Throughput.SendsPerSecond:N0} sends/s, {result.Throughput.DeliveriesPerSecond:N0} deliveries/s, "
    + $"p50 {result.Throughput.P50.TotalMilliseconds:0.0} ms, p99 {result.Throughput.P99.TotalMilliseconds:0.0} ms, max {result.Throughput.Max.TotalMilliseconds:0.0} ms, "
    + $"CPU per send {result.Throughput.ProcessCpuPerSend:0} µs + server {result.Throughput.ServerCpuPerSend:0} µs; "
    + $"paced {result.Latency.SendsPerSecond:N0} sends/s: p50 {result.Latency.P50.TotalMilliseconds:0.0} ms, p99 {result.Latency.P99.TotalMilliseconds:0.0} ms; "
    + $"lost {result.Throughput.Lost + result.Latency.Lost}");

static double Median(List<RunResult> runs, Func<RunResult, double> value)
{
    var sorted = runs.Select(value).Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
