using System.Diagnostics;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// Idle memory per connection. A server this benchmark started is restarted for each transport, so each base is a
/// fresh server's: its RSS right after startup, then after a warm-up (10 clients, up to 5,000 messages) and a
/// settle. Connections are then opened step by step (e.g. 1,000, then 10,000 in all); after each step the RSS is
/// read once it has settled, and (RSS − base) / connections is the cost of an idle connection.
/// </summary>
internal static class IdleMemoryScenario
{
    private static readonly TimeSpan SettleInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(10);
    private const int IdleWarmup = 5_000;

    public static async Task<List<IdleMemoryResult>> RunAsync(BenchContext context, Transport transport, IReadOnlyList<int> counts, int repetition, CancellationToken cancellationToken)
    {
        var results = counts.Select(count => new IdleMemoryResult { Transport = transport.Name(), Repetition = repetition, ConnectionsTarget = count }).ToList();
        try
        {
            await RunStepsAsync(context, transport, counts, results, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var failed = results.FirstOrDefault(result => result.ServerRssMib is null) ?? results[^1];
            failed.Error = $"{exception.GetType().Name}: {exception.Message}";
        }

        return results;
    }

    private static async Task RunStepsAsync(BenchContext context, Transport transport, IReadOnlyList<int> counts, List<IdleMemoryResult> results, CancellationToken cancellationToken)
    {
        // A server given by URL is measured as it is: its base then includes whatever earlier runs left in its heap.
        var restarted = context.Server is { Owned: true } || (context.Server is null && context.Options.ServerUrl is null);
        var server = restarted
            ? await context.StartOrAttachServerAsync(cancellationToken)
            : await context.RunningServerAsync(cancellationToken);
        var pid = server.Pid;
        var atStartup = restarted && pid is { } startedPid ? ProcFs.Memory(startedPid) : null;

        // One round only: enough to JIT and initialise the paths a connection uses; more rounds mostly grow the GC
        // heap, whose headroom the connections would then reuse, hiding part of their cost.
        if (context.Options.Warmup > 0)
        {
            await DeliveryScenarios.WarmUpAsync(context, transport, Math.Min(context.Options.Warmup, IdleWarmup), cancellationToken);
        }

        await DeliveryScenarios.WaitUntilServerDrainedAsync(context, server, cancellationToken);
        var (baseline, _) = pid is { } basePid ? await SettleAsync(basePid, cancellationToken) : (null, 0);
        if (pid is { } dumpPid)
        {
            await GcDumpAsync(context, dumpPid, $"{transport.Name()}-0", cancellationToken);
        }
        var runId = context.NextRunId();
        var readiness = new ReadinessBarrier(counts[^1]);
        var clients = new ClientSet(transport, server);
        var lastStep = results[0];
        (MemoryReading Reading, int Open)? previousStep = null;
        try
        {
            for (var step = 0; step < counts.Count; step++)
            {
                var result = lastStep = results[step];
                result.ServerRssAtStartupMib = atStartup?.RssKib / 1024.0;
                result.ServerRssBaseMib = baseline?.RssKib / 1024.0;
                result.ServerRssAnonBaseMib = baseline?.AnonymousKib / 1024.0;
                result.OpenFileLimitServer = pid is { } limitPid ? ProcFs.OpenFileLimit(limitPid.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null;

                var connecting = Stopwatch.StartNew();
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(60 + counts[step] / 100));
                    try
                    {
                        await clients.AddAsync(counts[step] - clients.Clients.Count, _ => new ClientRecorder(runId, 0, 0, readiness), parallelism: 64, timeout.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        result.Error = $"connecting did not finish within {TimeSpan.FromSeconds(60 + counts[step] / 100).TotalSeconds:0} s";
                    }
                }

                result.ConnectSeconds = connecting.Elapsed.TotalSeconds;
                result.ConnectionsOpen = clients.Clients.Count;
                result.ConnectFailures = clients.Failed;
                result.FirstConnectError = clients.FirstError;
                result.LoadAverage = ProcFs.LoadAverage();
                result.LoadGeneratorRssMib = Environment.WorkingSet / 1024.0 / 1024.0;
                if (pid is { } stepPid)
                {
                    var (settled, seconds) = await SettleAsync(stepPid, cancellationToken);
                    result.SettleSeconds = seconds;
                    result.ServerRssMib = settled?.RssKib / 1024.0;
                    result.ServerRssAnonMib = settled?.AnonymousKib / 1024.0;
                    if (settled is { } after && baseline is { } before && result.ConnectionsOpen > 0)
                    {
                        result.KibPerConnection = (after.RssKib - before.RssKib) / (double)result.ConnectionsOpen;
                        result.AnonKibPerConnection = (after.AnonymousKib - before.AnonymousKib) / (double)result.ConnectionsOpen;
                    }

                    if (settled is { } now && previousStep is { } earlier && result.ConnectionsOpen > earlier.Open)
                    {
                        result.StepKibPerConnection = (now.RssKib - earlier.Reading.RssKib) / (double)(result.ConnectionsOpen - earlier.Open);
                    }

                    previousStep = settled is { } reading ? (reading, result.ConnectionsOpen) : null;
                    await GcDumpAsync(context, stepPid, $"{transport.Name()}-{result.ConnectionsOpen}", cancellationToken);
                }

                if (result.ConnectFailures > 0 || result.Error is not null)
                {
                    break;
                }
            }

            // Proves the idle connections were live: one probe through PostgreSQL, counted by every client that gets it.
            lastStep.Alive = await CountAliveAsync(context, runId, readiness, clients.Clients.Count, cancellationToken);
        }
        finally
        {
            await clients.DisposeAsync();
        }
    }

    private static async Task<int> CountAliveAsync(BenchContext context, long runId, ReadinessBarrier readiness, int open, CancellationToken cancellationToken)
    {
        var generator = await context.GeneratorAsync(cancellationToken);
        var waited = Stopwatch.StartNew();
        while (readiness.Ready < open && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await generator.SendControlAsync(context.Channel, $"{{\"probe\":{runId}}}", cancellationToken);
            await Task.Delay(500, cancellationToken);
        }

        return readiness.Ready;
    }

    /// <summary>
    /// With --gcdump DIR: the server's managed heap, by type, at this step (dotnet-gcdump, a local tool of the repository:
    /// <c>dotnet tool restore</c>). Collecting forces a full collection, so it is taken after the step's RSS was read.
    /// </summary>
    private static async Task GcDumpAsync(BenchContext context, int pid, string name, CancellationToken cancellationToken)
    {
        if (context.Options.GcDumpDirectory is not { } directory)
        {
            return;
        }

        Directory.CreateDirectory(directory);
        var dump = Path.Combine(directory, name + ".gcdump");
        var root = BenchmarkOptions.RepositoryRoot();
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        await ProcessRunner.RunAsync(dotnet, ["tool", "run", "dotnet-gcdump", "collect", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", dump], TimeSpan.FromMinutes(2), cancellationToken, root);
        var report = await ProcessRunner.RunAsync(dotnet, ["tool", "run", "dotnet-gcdump", "report", dump], TimeSpan.FromMinutes(2), cancellationToken, root);
        await File.WriteAllTextAsync(Path.ChangeExtension(dump, ".txt"), report, cancellationToken);
        Console.WriteLine($"  gcdump: {dump} (by type: {Path.ChangeExtension(dump, ".txt")})");
    }

    /// <summary>Samples VmRSS every 500 ms until two samples differ by less than 1 %, or for at most 10 s.</summary>
    public static async Task<(MemoryReading? Reading, double Seconds)> SettleAsync(int pid, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        var previous = ProcFs.Memory(pid);
        while (previous is { } before && waited.Elapsed < SettleLimit)
        {
            await Task.Delay(SettleInterval, cancellationToken);
            var current = ProcFs.Memory(pid);
            if (current is not { } after || Math.Abs(after.RssKib - before.RssKib) < before.RssKib / 100.0)
            {
                return (current, waited.Elapsed.TotalSeconds);
            }

            previous = current;
        }

        return (previous, waited.Elapsed.TotalSeconds);
    }
}
