using System.Globalization;
using System.Runtime.InteropServices;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// One invocation: PostgreSQL, the server, a warm-up, then the selected scenarios in order (bare first in every
/// repetition, so each result has a bare limit measured minutes apart at most), then the tables and the JSON.
/// </summary>
internal static class BenchmarkRunner
{
    private static readonly string[] ReportedPostgresSettings =
    [
        "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "wal_level", "wal_buffers",
        "commit_delay", "shared_buffers", "max_connections", "listen_addresses",
    ];

    public static async Task<int> RunAsync(BenchmarkOptions options, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var document = new ReportDocument { StartedAt = DateTimeOffset.UtcNow, Arguments = arguments };
        var jsonPath = options.JsonPath ?? DefaultJsonPath(document.StartedAt);
        var serverLogPath = Path.ChangeExtension(jsonPath, ".server.log");
        Directory.CreateDirectory(Path.GetDirectoryName(jsonPath)!);
        DescribeOptions(options, document);

        var exitCode = 0;
        LocalPostgresCluster? cluster = null;
        BenchContext? context = null;
        try
        {
            await ProcFs.InitializeAsync(cancellationToken);
            DescribeMachine(document);

            string connectionString;
            if (options.PostgresConnectionString is { } given)
            {
                connectionString = given;
                document.Postgres["source"] = "given (--pg or PGNOTIFYHUB_BENCH_PG): " + Redacted(given);
            }
            else
            {
                var binDirectory = LocalPostgresCluster.FindBinDirectory() ?? throw new InvalidOperationException(
                    "No PostgreSQL: pass --pg or set PGNOTIFYHUB_BENCH_PG, or install the server (apt-get install postgresql) or set PG_BIN.");
                Progress($"starting a throwaway PostgreSQL cluster from {binDirectory}");
                cluster = await LocalPostgresCluster.StartAsync(binDirectory, options.PostgresSettings, cancellationToken);
                connectionString = cluster.ConnectionString;
                document.Postgres["source"] = cluster.Description;
                document.Postgres["postgres options"] = string.Join(' ', cluster.ServerOptions) + " (everything else: defaults)";
            }

            await DescribePostgresAsync(connectionString, document, cancellationToken);
            context = new BenchContext(options, connectionString, cluster, serverLogPath);

            ResolveServer(context, options, document);
            if (options.Scenarios.Any(scenario => scenario is "throughput" or "latency"))
            {
                await StartServerAsync(context, options, document, cancellationToken);
            }

            Report.WriteHeader(Console.Out, document);
            Console.WriteLine();
            Console.WriteLine("== Runs");
            exitCode = await RunDeliveryCasesAsync(context, options, document, cancellationToken);
            if (options.Runs("common"))
            {
                exitCode = Math.Max(exitCode, await RunCommonAsync(context, options, document, cancellationToken));
            }

            if (options.Runs("idle-memory"))
            {
                exitCode = Math.Max(exitCode, await RunIdleMemoryAsync(context, options, document, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Interrupted: stopping the server and PostgreSQL.");
            document.Errors.Add("interrupted");
            exitCode = 130;
        }
        catch (Exception exception)
        {
            await Console.Error.WriteLineAsync($"Setup failed: {exception}");
            document.Errors.Add(exception.ToString());
            exitCode = 2;
        }
        finally
        {
            if (context is not null)
            {
                await context.DisposeAsync();
            }

            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }

        document.FinishedAt = DateTimeOffset.UtcNow;
        Report.WriteDeliveryTables(Console.Out, document.DeliveryRuns);
        Report.WriteCommonTables(Console.Out, document.CommonRuns);
        Report.WriteIdleMemoryTable(Console.Out, document.IdleMemory);
        Report.WriteSummary(Console.Out, document, options.Repeat);
        await Report.WriteJsonAsync(jsonPath, document, CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine($"JSON: {jsonPath}");
        if (File.Exists(serverLogPath))
        {
            Console.WriteLine($"server log: {serverLogPath}");
        }

        Console.WriteLine($"finished in {(document.FinishedAt - document.StartedAt).TotalSeconds:F0} s, exit code {exitCode}");
        return exitCode;
    }

    private static void ResolveServer(BenchContext context, BenchmarkOptions options, ReportDocument document)
    {
        if (options.ServerUrl is null)
        {
            context.ServerAssembly = options.ServerAssembly ?? BenchServer.BuiltAssemblyPath() ?? throw new InvalidOperationException(
                "The server's assembly path was not recorded at build time: pass --server-dll.");
            document.Server["server path"] = context.ServerAssembly;
            foreach (var (name, value) in BenchServer.GcSettings(context.ServerAssembly, options.ServerSettings))
            {
                document.ServerGcSettings[name] = value;
            }
        }
    }

    private static async Task StartServerAsync(BenchContext context, BenchmarkOptions options, ReportDocument document, CancellationToken cancellationToken)
    {
        if (options.ServerUrl is null)
        {
            Progress($"starting {context.ServerAssembly}");
        }

        var server = await context.StartOrAttachServerAsync(cancellationToken);
        document.Server["server"] = server.Description;
        document.Server["started as"] = server.Owned
            ? "dotnet PgNotifyHub.Server.dll --urls <url>, working directory = its bin directory, ASPNETCORE_ENVIRONMENT=Production, "
              + $"ConnectionStrings__Postgres, PgNotifyHub__Channels__0={context.Channel}, Audiences__Source=Default, Audiences__Default={NotifyGenerator.Audience}, "
              + "Authentication__AllowAnonymous=true, Logging__LogLevel__Default=Warning"
              + string.Concat(options.ServerSettings.Select(setting => $", {setting.Key}={setting.Value}"))
            : "not started by the benchmark";
        document.Server["channel"] = context.Channel;
        if (server.Owned)
        {
            document.Server["log"] = context.ServerLogPath;
        }

        if (server.Pid is { } pid)
        {
            document.Server["open file limit"] = ProcFs.OpenFileLimit(pid.ToString(CultureInfo.InvariantCulture));
            document.ServerRssAtStartupMib = ProcFs.Memory(pid)?.RssKib / 1024.0;
        }

        if (options.Warmup > 0)
        {
            foreach (var transport in options.Transports)
            {
                Progress($"warm-up: {options.Warmup:N0} notifies to 10 {transport.Name()} clients");
                var lost = await DeliveryScenarios.WarmUpAsync(context, transport, options.Warmup, cancellationToken);
                if (lost > 0)
                {
                    Progress($"warm-up: {lost:N0} deliveries lost; going on");
                }
            }
        }

        if (server.Pid is { } settledPid)
        {
            document.ServerRssAfterWarmupMib = (await IdleMemoryScenario.SettleAsync(settledPid, cancellationToken)).Reading?.RssKib / 1024.0;
        }
    }

    private static async Task<int> RunDeliveryCasesAsync(BenchContext context, BenchmarkOptions options, ReportDocument document, CancellationToken cancellationToken)
    {
        var cases = new List<DeliveryCase> { DeliveryCase.Bare(options.Notifies, options.BatchSize) };
        if (options.Runs("throughput"))
        {
            cases.AddRange(options.Transports.Select(transport => DeliveryCase.Throughput(transport, options.ThroughputClients, options.Notifies, options.BatchSize)));
        }

        if (options.Runs("latency"))
        {
            cases.AddRange(options.Transports.SelectMany(transport => options.Rates.Select(rate => DeliveryCase.Latency(transport, options.LatencyClients, rate, options.Duration))));
        }

        var exitCode = 0;
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            DeliveryResult? bare = null;
            foreach (var deliveryCase in cases)
            {
                Progress($"rep {repetition}/{options.Repeat} {deliveryCase.Label}: running (load {ProcFs.LoadAverage()})");
                var result = await DeliveryScenarios.RunAsync(context, deliveryCase, repetition, cancellationToken);
                if (deliveryCase.Scenario == "bare")
                {
                    bare = result;
                }

                result.RatioToBare = bare is { Error: null, DeliveriesPerSecond: > 0 } ? result.DeliveriesPerSecond / bare.DeliveriesPerSecond : null;
                document.DeliveryRuns.Add(result);
                Progress($"rep {repetition}/{options.Repeat} {deliveryCase.Label}: " + (result.Error is null
                    ? $"{result.DeliveriesReceived:N0}/{result.DeliveriesExpected:N0} received, {result.DeliveriesPerSecond:N0} deliveries/s ({Report.Number(result.RatioToBare, "F2")}x bare), "
                      + $"p99 {Report.Number(result.LatencyP99Ms, "F1")} ms, server {Report.Number(result.ServerCpuMicrosecondsPerDelivery, "F2")} us/delivery, load {result.LoadAverageEnd}"
                    : "ERROR " + result.Error));
                if (result.Error is not null)
                {
                    exitCode = 1;
                }
            }
        }

        return exitCode;
    }

    private static async Task<int> RunCommonAsync(BenchContext context, BenchmarkOptions options, ReportDocument document, CancellationToken cancellationToken)
    {
        if (options.BunMissing)
        {
            document.Errors.Add("the Bun reference was left out: no --bun (benchmarks/run.sh installs Bun and passes it)");
            Progress("common: no --bun, so no Bun reference rows");
        }

        // The bare LISTEN row once, at the first run's rate; every other system at every size.
        var cases = new List<CommonCase>();
        foreach (var (clients, rate) in options.CommonRuns)
        {
            cases.AddRange(options.CommonSystems
                .Where(system => system != CommonCase.Listen)
                .Select(system => new CommonCase(system, clients, rate, options.CommonDuration)));
        }

        if (options.CommonSystems.Contains(CommonCase.Listen))
        {
            cases.Insert(0, new CommonCase(CommonCase.Listen, 1, options.CommonRuns[0].Rate, options.CommonDuration));
        }

        var exitCode = 0;
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            foreach (var commonCase in cases)
            {
                Progress($"rep {repetition}/{options.Repeat} common {commonCase.Label}: running (load {ProcFs.LoadAverage()})");
                var result = await CommonShapeScenario.RunAsync(context, commonCase, repetition, cancellationToken);
                document.CommonRuns.Add(result);
                Progress($"rep {repetition}/{options.Repeat} common {commonCase.Label}: " + (result.Error is null
                    ? $"{result.DeliveriesReceived:N0}/{result.DeliveriesExpected:N0} received, {result.DeliveriesPerSecond:N0} deliveries/s, "
                      + $"p50 {Report.Number(result.LatencyP50Ms, "F1")} p99 {Report.Number(result.LatencyP99Ms, "F1")} ms, "
                      + $"server {Report.Number(result.ServerCpuMicrosecondsPerDelivery, "F2")} us/delivery, "
                      + $"idle {Report.Number(result.KibPerIdleConnection, "F1")} KiB/conn, bench CPU {result.LoadGeneratorCpuPercent:F0}%"
                      + (result.LoadGeneratorSaturated is { } saturated ? $" (SATURATED: {saturated})" : "") + $", load {result.LoadAverageEnd}"
                    : "ERROR " + result.Error));
                if (result.Error is not null)
                {
                    exitCode = 1;
                }
            }
        }

        // The runs after these need PgNotifyHub.Server again, not the reference.
        if (context.Server is { IsReference: true })
        {
            await context.StopServerAsync();
        }

        return exitCode;
    }

    private static async Task<int> RunIdleMemoryAsync(BenchContext context, BenchmarkOptions options, ReportDocument document, CancellationToken cancellationToken)
    {
        var exitCode = 0;
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            foreach (var transport in options.Transports)
            {
                var counts = transport switch
                {
                    Transport.WebSocket => options.IdleWebSocketCounts,
                    Transport.EventStream => options.IdleEventStreamCounts,
                    _ => options.IdleSignalRCounts,
                };
                Progress($"rep {repetition}/{options.Repeat} idle-memory {transport.Name()} {string.Join(", ", counts.Select(count => count.ToString("N0", CultureInfo.InvariantCulture)))}: running"
                    + (context.Server is { Owned: true } ? " on a freshly started server" : ""));
                var steps = await IdleMemoryScenario.RunAsync(context, transport, counts, repetition, cancellationToken);
                document.IdleMemory.AddRange(steps);
                foreach (var step in steps)
                {
                    Progress($"  {step.ConnectionsOpen:N0}/{step.ConnectionsTarget:N0} {transport.Name()} open: RSS {Report.Number(step.ServerRssMib, "F1")} MiB over base "
                        + $"{Report.Number(step.ServerRssBaseMib, "F1")} MiB = {Report.Number(step.KibPerConnection, "F1")} KiB/connection"
                        + (step.Error is null ? "" : $"; ERROR {step.Error}") + (step.FirstConnectError is null ? "" : $"; {step.ConnectFailures} failed, first: {step.FirstConnectError}"));
                    if (step.Error is not null || step.ConnectFailures > 0)
                    {
                        exitCode = 1;
                    }
                }
            }
        }

        return exitCode;
    }

    private static void DescribeMachine(ReportDocument document)
    {
        var machine = document.Machine;
        machine["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        machine["cpu"] = ReadFirst("/proc/cpuinfo", "model name") ?? "?";
        machine["memory"] = ReadFirst("/proc/meminfo", "MemTotal") ?? "?";
        machine["os"] = RuntimeInformation.OSDescription;
        machine["runtime"] = RuntimeInformation.FrameworkDescription;
        machine["load average at start"] = ProcFs.LoadAverage();
        machine["CLK_TCK"] = ProcFs.ClockTicksPerSecond.ToString(CultureInfo.InvariantCulture);
        machine["open file limit (benchmark)"] = ProcFs.OpenFileLimit("self");
    }

    private static async Task DescribePostgresAsync(string connectionString, ReportDocument document, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var version = new NpgsqlCommand("SELECT version()", connection))
        {
            document.Postgres["version"] = (string)(await version.ExecuteScalarAsync(cancellationToken))!;
        }

        await using var settings = new NpgsqlCommand("SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name = ANY($1) ORDER BY name", connection)
        {
            Parameters = { new NpgsqlParameter<string[]> { TypedValue = ReportedPostgresSettings } },
        };
        await using var reader = await settings.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var unit = reader.GetString(2);
            document.PostgresSettings[reader.GetString(0)] = reader.GetString(1) + (unit.Length > 0 ? " x " + unit : "");
        }
    }

    private static void DescribeOptions(BenchmarkOptions options, ReportDocument document)
    {
        var described = document.Options;
        described["scenarios"] = string.Join(", ", options.Scenarios);
        described["transports"] = string.Join(", ", options.Transports.Select(transport => transport.Name()));
        described["clients"] = $"throughput {options.ThroughputClients}, latency {options.LatencyClients}";
        described["notifies"] = $"{options.Notifies:N0} per bare/throughput run, {options.BatchSize} per statement";
        described["latency"] = $"{string.Join(", ", options.Rates.Select(rate => rate.ToString("N0", CultureInfo.InvariantCulture)))} notifies/s for {options.Duration.TotalSeconds:0} s, one statement per 10 ms";
        described["idle-memory"] = $"websocket {string.Join(", ", options.IdleWebSocketCounts)}; signalr {string.Join(", ", options.IdleSignalRCounts)}; sse {string.Join(", ", options.IdleEventStreamCounts)}";
        described["common"] = $"{string.Join(", ", options.CommonRuns.Select(run => $"{run.Clients}x{run.Rate}/s"))} for {options.CommonDuration.TotalSeconds:0} s; "
            + $"systems {string.Join(", ", options.CommonSystems)}; one NOTIFY per transaction from {options.SenderSessions} sessions, {options.PayloadBytes}-byte payloads";
        described["repeat"] = options.Repeat.ToString(CultureInfo.InvariantCulture);
        described["warm-up"] = $"{options.Warmup:N0} notifies";
        described["drain timeout"] = $"{options.DrainTimeout.TotalSeconds:0} s";
    }

    private static string? ReadFirst(string path, string key)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault(line => line.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Redacted(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Password is not null)
        {
            builder.Password = "***";
        }

        return builder.ConnectionString;
    }

    private static string DefaultJsonPath(DateTimeOffset startedAt) =>
        Path.Combine(BenchmarkOptions.RepositoryRoot(), "benchmarks", "results", startedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "Z.json");

    private static void Progress(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
