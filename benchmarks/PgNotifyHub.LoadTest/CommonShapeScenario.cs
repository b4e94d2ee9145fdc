using System.Diagnostics;
using System.Globalization;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// The common shape: one NOTIFY per transaction from several sessions, many clients. Every run gets a freshly started
/// server (PgNotifyHub.Server or the Bun bridge): its startup time and RSS are read, a short warm-up runs, the RSS
/// settles, the run's clients connect and the RSS settles again (the cost of an idle connection), every client gets a
/// probe, and then the messages are sent at the run's rate while the server's CPU is measured.
/// </summary>
internal static class CommonShapeScenario
{
    private const int WarmupClients = 10;
    private const int WarmupMessages = 400;
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CommonResult> RunAsync(BenchContext context, CommonCase commonCase, int repetition, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var result = new CommonResult
        {
            Case = commonCase.Label,
            System = commonCase.System,
            Clients = commonCase.Clients,
            RatePerSecond = commonCase.RatePerSecond,
            PayloadBytes = options.PayloadBytes,
            SenderSessions = options.SenderSessions,
            Repetition = repetition,
        };
        try
        {
            await RunCoreAsync(context, commonCase, result, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            result.Error = $"{exception.GetType().Name}: {exception.Message}";
        }

        return result;
    }

    private static async Task RunCoreAsync(BenchContext context, CommonCase commonCase, CommonResult result, CancellationToken cancellationToken)
    {
        BenchServer? server = null;
        if (commonCase.System == CommonCase.Listen)
        {
            await context.StopServerAsync();
        }
        else
        {
            server = commonCase.System == CommonCase.Bun
                ? await context.StartBunAsync(cancellationToken)
                : await context.StartOrAttachServerAsync(cancellationToken);
            result.ServerStartupSeconds = server.StartupSeconds;
            result.ServerRssAtStartMib = server.Pid is { } pid ? ProcFs.Memory(pid)?.RssKib / 1024.0 : null;
            await using (var senders = await PacedSenders.OpenAsync(context.PostgresConnectionString, context.Options.SenderSessions, cancellationToken))
            {
                // Enough to compile and initialise the paths a connection and a message take, so the idle cost measured
                // next is the connections' own.
                await RunClientsAsync(context, commonCase with { Clients = WarmupClients }, server, senders, WarmupMessages, WarmupMessages, null, cancellationToken);
            }

            await DeliveryScenarios.WaitUntilServerDrainedAsync(context, server, cancellationToken);
            if (server.Pid is { } basePid)
            {
                result.ServerRssBaseMib = (await IdleMemoryScenario.SettleAsync(basePid, cancellationToken)).Reading?.RssKib / 1024.0;
            }
        }

        await using var measuredSenders = await PacedSenders.OpenAsync(context.PostgresConnectionString, context.Options.SenderSessions, cancellationToken);
        await RunClientsAsync(context, commonCase, server, measuredSenders, commonCase.Notifies, commonCase.RatePerSecond, result, cancellationToken);
    }

    // Connects the clients, waits until each has had a probe, sends, waits for the end markers, and summarises into
    // result (null for the warm-up, which is not measured).
    private static async Task RunClientsAsync(
        BenchContext context,
        CommonCase commonCase,
        BenchServer? server,
        PacedSenders senders,
        int messages,
        double ratePerSecond,
        CommonResult? result,
        CancellationToken cancellationToken)
    {
        var channel = server is null ? context.BareChannel : context.Channel;
        var runId = context.NextRunId();
        var firstSequence = context.AllocateSequences(messages);
        var readiness = new ReadinessBarrier(commonCase.Clients);
        var recorders = new ClientRecorder[commonCase.Clients];
        var connecting = Stopwatch.StartNew();
        ClientSet? clients = null;
        ListenBenchClient? listener = null;
        var measured = false;
        try
        {
            if (server is null)
            {
                recorders[0] = new ClientRecorder(runId, firstSequence, messages, readiness);
                listener = await ListenBenchClient.ConnectAsync(context.PostgresConnectionString, channel, recorders[0], cancellationToken);
            }
            else
            {
                clients = new ClientSet(commonCase.Transport!.Value, server);
                var connectLimit = TimeSpan.FromSeconds(60 + commonCase.Clients / 25);
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                connectTimeout.CancelAfter(connectLimit);
                await clients.AddAsync(commonCase.Clients, index => recorders[index] = new ClientRecorder(runId, firstSequence, messages, readiness), parallelism: 64, connectTimeout.Token);
                if (clients.Clients.Count < commonCase.Clients)
                {
                    throw new InvalidOperationException($"{commonCase.Clients - clients.Clients.Count} of {commonCase.Clients} clients could not connect; first error: {clients.FirstError}");
                }
            }

            if (result is not null)
            {
                result.ConnectSeconds = connecting.Elapsed.TotalSeconds;
                if (server?.Pid is { } pid)
                {
                    result.ServerRssIdleClientsMib = (await IdleMemoryScenario.SettleAsync(pid, cancellationToken)).Reading?.RssKib / 1024.0;
                    result.KibPerIdleConnection = (result.ServerRssIdleClientsMib - result.ServerRssBaseMib) * 1024.0 / commonCase.Clients;
                }
            }

            await WaitUntilReadyAsync(context, channel, runId, readiness, recorders, cancellationToken);
            measured = true;
            await MeasureAsync(context, commonCase, server, senders, channel, runId, firstSequence, messages, ratePerSecond, recorders, result, cancellationToken);
        }
        finally
        {
            if (clients is not null)
            {
                await clients.DisposeAsync();
            }

            if (listener is not null)
            {
                await listener.DisposeAsync();
            }

            if (measured && result is not null)
            {
                Summarise(result, commonCase, messages, recorders);
            }
        }
    }

    private static async Task WaitUntilReadyAsync(BenchContext context, string channel, long runId, ReadinessBarrier readiness, ClientRecorder[] recorders, CancellationToken cancellationToken)
    {
        var generator = await context.GeneratorAsync(cancellationToken);
        var waited = Stopwatch.StartNew();
        while (!readiness.AllReady.IsCompleted)
        {
            if (waited.Elapsed > ReadinessTimeout)
            {
                var disconnected = recorders.Count(recorder => recorder?.Failure is not null);
                throw new TimeoutException($"Only {readiness.Ready} of {recorders.Length} clients received a probe within {ReadinessTimeout.TotalSeconds:0} s; {disconnected} disconnected.");
            }

            await generator.SendControlAsync(channel, $"{{\"probe\":{runId}}}", cancellationToken);
            try
            {
                await readiness.AllReady.WaitAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
            catch (TimeoutException)
            {
                // Probe again.
            }
        }
    }

    private static async Task MeasureAsync(
        BenchContext context,
        CommonCase commonCase,
        BenchServer? server,
        PacedSenders senders,
        string channel,
        long runId,
        long firstSequence,
        int messages,
        double ratePerSecond,
        ClientRecorder[] recorders,
        CommonResult? result,
        CancellationToken cancellationToken)
    {
        var meter = server is null || result is null ? null : ResourceMeter.Start(server, context.PostmasterPid);
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var loadStart = ProcFs.LoadAverage();
        var start = Stopwatch.GetTimestamp();
        PacedSendResult? sent = null;
        try
        {
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            sending.CancelAfter(TimeSpan.FromSeconds(messages / ratePerSecond * 3 + 60));
            sent = await senders.SendAsync(channel, NotifyGenerator.Audience, firstSequence, messages, ratePerSecond, context.Options.PayloadBytes, sending.Token);
            var generator = await context.GeneratorAsync(cancellationToken);
            await generator.SendControlAsync(channel, $"{{\"end\":{runId}}}", cancellationToken);
            try
            {
                await Task.WhenAll(recorders.Select(recorder => recorder.Ended)).WaitAsync(context.Options.DrainTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                // What has not arrived by now is lost.
            }
        }
        finally
        {
            if (result is not null)
            {
                var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
                result.WallSeconds = wall;
                if (sent is not null)
                {
                    result.NotifiesSent = sent.Sent;
                    result.SendSeconds = sent.Seconds;
                    result.NotifiesPerSecond = sent.Sent / sent.Seconds;
                    result.SenderMaxLatenessMs = sent.MaxLatenessSeconds * 1000;
                }

                var usage = meter is null ? null : await meter.StopAsync();
                result.LoadGeneratorCpuSeconds = usage?.LoadGeneratorCpuSeconds ?? (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalSeconds;
                result.LoadGeneratorCpuPercent = result.LoadGeneratorCpuSeconds / wall * 100;
                result.ServerCpuSeconds = usage?.ServerCpuSeconds;
                result.ServerMaxSampledRssMib = usage?.ServerMaxSampledRssKib / 1024.0;
                result.PostgresCpuSeconds = usage?.PostgresCpuSeconds;
                result.ServerWarnings = usage?.ServerWarnings ?? 0;
                result.LoadAverageStart = usage?.LoadAverageStart ?? loadStart;
                result.LoadAverageEnd = usage?.LoadAverageEnd ?? ProcFs.LoadAverage();
                result.StartTimestamp = start;
            }
        }
    }

    private static void Summarise(CommonResult result, CommonCase commonCase, int messages, ClientRecorder[] recorders)
    {
        var frequency = (double)Stopwatch.Frequency;
        var start = result.StartTimestamp;
        result.DeliveriesExpected = result.NotifiesSent * recorders.Length;
        result.DeliveriesReceived = recorders.Sum(recorder => (long)recorder.Received);
        result.Lost = Math.Max(0, result.DeliveriesExpected - result.DeliveriesReceived);
        result.Duplicated = recorders.Sum(recorder => (long)recorder.Duplicates);
        result.ClientsDisconnected = recorders.Count(recorder => recorder.Failure is not null);
        result.FirstDisconnect = recorders.Select(recorder => recorder.Failure).FirstOrDefault(failure => failure is not null);
        var lastReceived = recorders.Max(recorder => recorder.LastReceivedAt);
        if (result.DeliveriesReceived > 0 && lastReceived > start)
        {
            result.DeliveriesPerSecond = result.DeliveriesReceived / ((lastReceived - start) / frequency);
        }

        var latencies = new long[result.DeliveriesReceived];
        var count = 0;
        foreach (var recorder in recorders)
        {
            var receivedAt = recorder.ReceivedAt;
            var sentAt = recorder.SentAt;
            for (var index = 0; index < messages; index++)
            {
                if (receivedAt[index] != 0 && sentAt[index] != 0)
                {
                    latencies[count++] = receivedAt[index] - sentAt[index];
                }
            }
        }

        if (count > 0)
        {
            Array.Sort(latencies, 0, count);
            double Percentile(double percent) => latencies[Math.Clamp((int)Math.Ceiling(percent / 100 * count) - 1, 0, count - 1)] * 1000.0 / frequency;
            result.LatencyP50Ms = Percentile(50);
            result.LatencyP90Ms = Percentile(90);
            result.LatencyP99Ms = Percentile(99);
            result.LatencyP999Ms = Percentile(99.9);
            result.LatencyMaxMs = Percentile(100);
            result.LatencyCdf = [.. Enumerable.Range(0, 101).Select(percent => (double)percent).Concat([99.5, 99.9]).Order().Select(percent => new[] { percent, Math.Round(Percentile(percent), 3) })];
        }

        if (result.ServerCpuSeconds is { } cpu && result.DeliveriesReceived > 0)
        {
            result.ServerCpuMicrosecondsPerDelivery = cpu * 1e6 / result.DeliveriesReceived;
        }

        // The load generator shares the machine: when it needs most of a core, or its senders fall behind, it may be what
        // limits the result rather than the server.
        List<string> reasons = [];
        if (result.LoadGeneratorCpuPercent >= 90)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"load generator CPU {result.LoadGeneratorCpuPercent:F0}% of a core"));
        }

        if (result.SenderMaxLatenessMs >= 100 || result.SendSeconds > commonCase.Duration.TotalSeconds * 1.05)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"senders behind schedule by up to {result.SenderMaxLatenessMs:F0} ms ({result.NotifiesPerSecond:F0}/s of {commonCase.RatePerSecond}/s)"));
        }

        result.LoadGeneratorSaturated = reasons.Count == 0 ? null : string.Join("; ", reasons);
    }
}
