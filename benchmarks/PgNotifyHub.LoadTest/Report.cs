using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PgNotifyHub.LoadTest;

/// <summary>The tables on stdout and the JSON file.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void WriteHeader(TextWriter writer, ReportDocument document)
    {
        writer.WriteLine();
        writer.WriteLine("== Setup");
        foreach (var (section, values) in new[]
        {
            ("machine", document.Machine), ("postgres", document.Postgres), ("postgres settings", document.PostgresSettings),
            ("server", document.Server), ("server GC", document.ServerGcSettings), ("options", document.Options),
        })
        {
            writer.WriteLine($"{section}:");
            foreach (var (name, value) in values)
            {
                writer.WriteLine($"  {name}: {value}");
            }
        }

        writer.WriteLine($"server RSS: {Number(document.ServerRssAtStartupMib, "F1")} MiB right after startup, {Number(document.ServerRssAfterWarmupMib, "F1")} MiB after warm-up and settle");
    }

    public static void WriteDeliveryTables(TextWriter writer, IReadOnlyList<DeliveryResult> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine("== Delivery (latency: commit returned to the sender -> received by the client, ms)");
        var delivery = new TextTable("case", "rep", "sent", "expected", "received", "lost", "dup", "ooo", "deliv/s", "x bare", "p50", "p90", "p99", "max");
        foreach (var run in runs)
        {
            delivery.Add(
                run.Case, Integer(run.Repetition), Integer(run.NotifiesSent), Integer(run.DeliveriesExpected), Integer(run.DeliveriesReceived),
                Integer(run.Lost), Integer(run.Duplicated), Integer(run.OutOfOrder), Number(run.DeliveriesPerSecond, "N0"), Number(run.RatioToBare, "F2"),
                Number(run.LatencyP50Ms, "F1"), Number(run.LatencyP90Ms, "F1"), Number(run.LatencyP99Ms, "F1"), Number(run.LatencyMaxMs, "F1"));
        }

        delivery.Write(writer);

        writer.WriteLine();
        writer.WriteLine("== Resources (server = PgNotifyHub.Server process; pg = all PostgreSQL processes; bench = this process)");
        var resources = new TextTable("case", "rep", "srv CPU s", "srv us/deliv", "srv CPU s/1k", "srv peak MiB", "srv max MiB", "pg CPU s", "bench CPU s", "wall s", "load start -> end", "srv warn");
        foreach (var run in runs)
        {
            resources.Add(
                run.Case, Integer(run.Repetition), Number(run.ServerCpuSeconds, "F2"), Number(run.ServerCpuMicrosecondsPerDelivery, "F2"),
                Number(run.ServerCpuSecondsPer1000Deliveries, "F5"), Number(run.ServerPeakRssMib, "F1") + (run.ServerPeakIsPerRun || run.ServerPeakRssMib is null ? "" : "*"),
                Number(run.ServerMaxSampledRssMib, "F1"), Number(run.PostgresCpuSeconds, "F2"), Number(run.LoadGeneratorCpuSeconds, "F2"), Number(run.WallSeconds, "F1"),
                $"{run.LoadAverageStart} -> {run.LoadAverageEnd}", Integer(run.ServerWarnings));
        }

        resources.Write(writer);
        if (runs.Any(run => !run.ServerPeakIsPerRun && run.ServerPeakRssMib is not null))
        {
            writer.WriteLine("  * VmHWM could not be reset: the peak is since the server started.");
        }

        foreach (var run in runs.Where(run => run.Error is not null || run.ClientsDisconnected > 0 || run.Strays > 0 || run.ServerDrainSeconds > 1))
        {
            writer.WriteLine($"  note {run.Case} rep {run.Repetition}:"
                + (run.ServerDrainSeconds > 1 ? $" the server needed {run.ServerDrainSeconds:F1} s to deliver an earlier run's backlog first;" : "")
                + (run.Error is null ? "" : $" ERROR {run.Error};")
                + (run.ClientsDisconnected > 0 ? $" {run.ClientsDisconnected} client(s) disconnected, first: {run.FirstDisconnect};" : "")
                + (run.Strays > 0 ? $" {run.Strays} stray/unreadable message(s);" : ""));
        }
    }

    /// <summary>The common shape: one table of every run, then (with repeats) the medians per case.</summary>
    public static void WriteCommonTables(TextWriter writer, IReadOnlyList<CommonResult> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine("== Common shape: one NOTIFY per transaction (latency: send -> received, ms; server = the bridge's process)");
        var table = new TextTable(
            "case", "rep", "sent/s", "deliv/s", "lost", "p50", "p99", "p99.9", "srv us/deliv", "srv CPU %", "startup s", "start MiB", "base MiB",
            "KiB/idle conn", "bench CPU %", "load start -> end");
        foreach (var run in runs)
        {
            table.Add(
                run.Case + (run.LoadGeneratorSaturated is null ? "" : " !"), Integer(run.Repetition), Number(run.NotifiesPerSecond, "N0"), Number(run.DeliveriesPerSecond, "N0"),
                Integer(run.Lost), Number(run.LatencyP50Ms, "F1"), Number(run.LatencyP99Ms, "F1"), Number(run.LatencyP999Ms, "F1"),
                Number(run.ServerCpuMicrosecondsPerDelivery, "F2"), Number(run.ServerCpuSeconds / run.WallSeconds * 100, "F0"), Number(run.ServerStartupSeconds, "F2"),
                Number(run.ServerRssAtStartMib, "F1"), Number(run.ServerRssBaseMib, "F1"), Number(run.KibPerIdleConnection, "F1"),
                Number(run.LoadGeneratorCpuPercent, "F0"), $"{run.LoadAverageStart} -> {run.LoadAverageEnd}");
        }

        table.Write(writer);
        foreach (var run in runs.Where(run => run.Error is not null || run.ClientsDisconnected > 0 || run.LoadGeneratorSaturated is not null || run.ServerWarnings > 0))
        {
            writer.WriteLine($"  note {run.Case} rep {run.Repetition}:"
                + (run.Error is null ? "" : $" ERROR {run.Error};")
                + (run.LoadGeneratorSaturated is null ? "" : $" ! the load generator may have limited this run: {run.LoadGeneratorSaturated};")
                + (run.ClientsDisconnected > 0 ? $" {run.ClientsDisconnected} client(s) disconnected, first: {run.FirstDisconnect};" : "")
                + (run.ServerWarnings > 0 ? $" {run.ServerWarnings} server warning(s), see the server log;" : ""));
        }

        if (runs.Max(run => run.Repetition) <= 1)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine("== Common shape, median (min-max) per case");
        var summary = new TextTable("case", "runs", "deliv/s", "p50 ms", "p99 ms", "srv us/deliv", "KiB/idle conn", "lost (sum)");
        foreach (var group in runs.Where(run => run.Error is null).GroupBy(run => run.Case))
        {
            var grouped = group.ToList();
            summary.Add(
                group.Key, Integer(grouped.Count), Spread(grouped.Select(run => (double?)run.DeliveriesPerSecond), "N0"), Spread(grouped.Select(run => run.LatencyP50Ms), "F1"),
                Spread(grouped.Select(run => run.LatencyP99Ms), "F1"), Spread(grouped.Select(run => run.ServerCpuMicrosecondsPerDelivery), "F2"),
                Spread(grouped.Select(run => run.KibPerIdleConnection), "F1"), Integer(grouped.Sum(run => run.Lost)));
        }

        summary.Write(writer);
    }

    public static void WriteIdleMemoryTable(TextWriter writer, IReadOnlyList<IdleMemoryResult> steps)
    {
        if (steps.Count == 0)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine("== Idle memory (server RSS, settled; per connection = (RSS - base) / open)");
        var table = new TextTable("transport", "rep", "target", "open", "failed", "startup MiB", "base MiB", "RSS MiB", "KiB/conn", "anon KiB/conn", "step KiB/conn", "connect s", "settle s", "alive", "srv nofile", "load");
        foreach (var step in steps)
        {
            table.Add(
                step.Transport, Integer(step.Repetition), Integer(step.ConnectionsTarget), Integer(step.ConnectionsOpen), Integer(step.ConnectFailures),
                Number(step.ServerRssAtStartupMib, "F1"), Number(step.ServerRssBaseMib, "F1"), Number(step.ServerRssMib, "F1"), Number(step.KibPerConnection, "F1"),
                Number(step.AnonKibPerConnection, "F1"), Number(step.StepKibPerConnection, "F1"), Number(step.ConnectSeconds, "F1"), Number(step.SettleSeconds, "F1"),
                step.Alive is { } alive ? Integer(alive) : "", step.OpenFileLimitServer ?? "", step.LoadAverage ?? "");
        }

        table.Write(writer);
        foreach (var step in steps.Where(step => step.Error is not null || step.FirstConnectError is not null))
        {
            writer.WriteLine($"  note {step.Transport} {step.ConnectionsTarget}: " + (step.Error is null ? "" : $"ERROR {step.Error}; ") + (step.FirstConnectError is null ? "" : $"first connect error: {step.FirstConnectError}"));
        }
    }

    /// <summary>With repeats: median and min–max of the main figures per case.</summary>
    public static void WriteSummary(TextWriter writer, ReportDocument document, int repeat)
    {
        if (repeat <= 1)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine($"== Summary over {repeat} repetitions: median (min-max)");
        var table = new TextTable("case", "runs", "deliv/s", "x bare", "p50 ms", "p99 ms", "srv us/deliv", "srv peak MiB", "lost (sum)");
        foreach (var group in document.DeliveryRuns.Where(run => run.Error is null).GroupBy(run => run.Case))
        {
            var runs = group.ToList();
            var row = new Dictionary<string, string>
            {
                ["case"] = group.Key,
                ["runs"] = Integer(runs.Count),
                ["deliveriesPerSecond"] = Spread(runs.Select(run => (double?)run.DeliveriesPerSecond), "N0"),
                ["ratioToBare"] = Spread(runs.Select(run => run.RatioToBare), "F2"),
                ["latencyP50Ms"] = Spread(runs.Select(run => run.LatencyP50Ms), "F1"),
                ["latencyP99Ms"] = Spread(runs.Select(run => run.LatencyP99Ms), "F1"),
                ["serverCpuMicrosecondsPerDelivery"] = Spread(runs.Select(run => run.ServerCpuMicrosecondsPerDelivery), "F2"),
                ["serverPeakRssMib"] = Spread(runs.Select(run => run.ServerPeakRssMib), "F1"),
                ["lost"] = Integer(runs.Sum(run => run.Lost)),
            };
            document.Summary.Add(row);
            table.Add([.. row.Values]);
        }

        table.Write(writer);

        var idle = new TextTable("idle memory", "runs", "open", "base MiB", "KiB/conn");
        foreach (var group in document.IdleMemory.Where(step => step.Error is null).GroupBy(step => (step.Transport, step.ConnectionsTarget)))
        {
            var steps = group.ToList();
            var row = new Dictionary<string, string>
            {
                ["case"] = $"idle-memory {group.Key.Transport} {group.Key.ConnectionsTarget}",
                ["runs"] = Integer(steps.Count),
                ["open"] = Spread(steps.Select(step => (double?)step.ConnectionsOpen), "N0"),
                ["serverRssBaseMib"] = Spread(steps.Select(step => step.ServerRssBaseMib), "F1"),
                ["kibPerConnection"] = Spread(steps.Select(step => step.KibPerConnection), "F1"),
            };
            document.Summary.Add(row);
            idle.Add([.. row.Values]);
        }

        if (document.IdleMemory.Count > 0)
        {
            writer.WriteLine();
            idle.Write(writer);
        }
    }

    public static async Task WriteJsonAsync(string path, ReportDocument document, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, document, JsonOptions, cancellationToken);
    }

    public static string Integer(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(double? value, string format) =>
        value is { } number && double.IsFinite(number) ? number.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Spread(IEnumerable<double?> values, string format)
    {
        var known = values.OfType<double>().Where(double.IsFinite).Order().ToArray();
        if (known.Length == 0)
        {
            return "-";
        }

        var median = known.Length % 2 == 1 ? known[known.Length / 2] : (known[(known.Length / 2) - 1] + known[known.Length / 2]) / 2;
        return $"{Number(median, format)} ({Number(known[0], format)}-{Number(known[^1], format)})";
    }
}
