using System.Diagnostics;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// The bare, throughput and latency scenarios. A run connects fresh clients, waits until every one of them has
/// received a probe, sends the notifies (as fast as possible or paced), then an end marker, and waits for every
/// client's marker up to the drain timeout: what has not arrived by then is lost.
/// </summary>
internal static class DeliveryScenarios
{
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(120);

    public static async Task<DeliveryResult> RunAsync(BenchContext context, DeliveryCase deliveryCase, int repetition, CancellationToken cancellationToken)
    {
        var result = new DeliveryResult
        {
            Case = deliveryCase.Label,
            Scenario = deliveryCase.Scenario,
            Transport = deliveryCase.Transport?.Name(),
            Clients = deliveryCase.Clients,
            RatePerSecond = deliveryCase.RatePerSecond,
            BatchSize = deliveryCase.BatchSize,
            Repetition = repetition,
        };
        try
        {
            if (deliveryCase.Transport is { } transport)
            {
                await RunClientsAsync(context, deliveryCase, transport, result, cancellationToken);
            }
            else
            {
                await RunBareAsync(context, deliveryCase, result, cancellationToken);
            }
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            result.Error = $"{exception.GetType().Name}: {exception.Message}";
        }

        return result;
    }

    /// <summary>
    /// Warms the server and this process up (JIT tiers, pools, buffers) with 10 clients, in runs of at most 5,000
    /// notifies so that no client's server-side queue (8,192 by default) overflows. Returns the deliveries lost.
    /// </summary>
    public static async Task<long> WarmUpAsync(BenchContext context, Transport transport, int notifies, CancellationToken cancellationToken)
    {
        const int PerRun = 5_000;
        long lost = 0;
        for (var sent = 0; sent < notifies; sent += PerRun)
        {
            var warmup = DeliveryCase.Throughput(transport, 10, Math.Min(PerRun, notifies - sent), Math.Min(context.Options.BatchSize, PerRun)) with { Scenario = "warmup" };
            var result = await RunAsync(context, warmup, repetition: 0, cancellationToken);
            lost += result.Error is null ? result.Lost : throw new InvalidOperationException($"The {transport.Name()} warm-up failed: {result.Error}");
        }

        return lost;
    }

    private static async Task RunClientsAsync(BenchContext context, DeliveryCase deliveryCase, Transport transport, DeliveryResult result, CancellationToken cancellationToken)
    {
        var server = await context.RunningServerAsync(cancellationToken);
        var generator = await context.GeneratorAsync(cancellationToken);
        result.ServerDrainSeconds = await WaitUntilServerDrainedAsync(context, server, cancellationToken);
        var runId = context.NextRunId();
        var firstSequence = context.AllocateSequences(deliveryCase.Notifies);
        var readiness = new ReadinessBarrier(deliveryCase.Clients);
        var recorders = new ClientRecorder[deliveryCase.Clients];
        var clients = new ClientSet(transport, server);
        var measured = false;
        try
        {
            using (var connectTimeout = Timeout(TimeSpan.FromSeconds(60 + deliveryCase.Clients / 50), cancellationToken))
            {
                await clients.AddAsync(
                    deliveryCase.Clients,
                    index => recorders[index] = new ClientRecorder(runId, firstSequence, deliveryCase.Notifies, readiness),
                    parallelism: 32,
                    connectTimeout.Token);
            }

            if (clients.Failed > 0 || clients.Clients.Count < deliveryCase.Clients)
            {
                throw new InvalidOperationException($"{deliveryCase.Clients - clients.Clients.Count} of {deliveryCase.Clients} clients could not connect; first error: {clients.FirstError}");
            }

            await WaitUntilReadyAsync(generator, context.Channel, runId, readiness, recorders, cancellationToken);
            measured = true;
            await MeasureAsync(context, deliveryCase, generator, context.Channel, runId, firstSequence, recorders, server, result, cancellationToken);
        }
        finally
        {
            // Stops every receive loop before the recorders are read; a failed run still reports what it got.
            await clients.DisposeAsync();
            if (measured)
            {
                Summarise(result, deliveryCase, recorders, firstSequence);
            }
        }
    }

    private static async Task RunBareAsync(BenchContext context, DeliveryCase deliveryCase, DeliveryResult result, CancellationToken cancellationToken)
    {
        var generator = await context.GeneratorAsync(cancellationToken);
        var runId = context.NextRunId();
        var firstSequence = context.AllocateSequences(deliveryCase.Notifies);
        var readiness = new ReadinessBarrier(1);
        var recorder = new ClientRecorder(runId, firstSequence, deliveryCase.Notifies, readiness);
        var listener = await ListenBenchClient.ConnectAsync(context.PostgresConnectionString, context.BareChannel, recorder, cancellationToken);
        var measured = false;
        try
        {
            await WaitUntilReadyAsync(generator, context.BareChannel, runId, readiness, [recorder], cancellationToken);
            measured = true;
            await MeasureAsync(context, deliveryCase, generator, context.BareChannel, runId, firstSequence, [recorder], context.Server, result, cancellationToken);
        }
        finally
        {
            await listener.DisposeAsync();
            if (measured)
            {
                Summarise(result, deliveryCase, [recorder], firstSequence);
            }
        }
    }

    // Sends and waits for the end markers, inside the resource measurement. The recorders are only summarised
    // after their clients stopped.
    private static async Task MeasureAsync(
        BenchContext context,
        DeliveryCase deliveryCase,
        NotifyGenerator generator,
        string channel,
        long runId,
        long firstSequence,
        ClientRecorder[] recorders,
        BenchServer? server,
        DeliveryResult result,
        CancellationToken cancellationToken)
    {
        // At least 1,000 notifies/s, or the paced duration, plus a minute.
        var sendTimeout = deliveryCase.Duration is { } duration
            ? duration + TimeSpan.FromSeconds(60)
            : TimeSpan.FromSeconds(60 + deliveryCase.Notifies / 1_000);
        var meter = server is null ? null : ResourceMeter.Start(server, context.PostmasterPid);
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var postgresCpu = context.PostmasterPid is { } postmaster ? ProcFs.PostgresCpuSeconds(postmaster) : null;
        var loadStart = ProcFs.LoadAverage();
        var start = Stopwatch.GetTimestamp();
        List<BatchRecord> batches = [];
        try
        {
            using (var sending = Timeout(sendTimeout, cancellationToken))
            {
                try
                {
                    batches = deliveryCase.RatePerSecond is { } rate
                        ? await generator.SendPacedAsync(channel, firstSequence, rate, deliveryCase.Duration!.Value, deliveryCase.BatchSize, sending.Token)
                        : await generator.SendAsFastAsPossibleAsync(channel, firstSequence, deliveryCase.Notifies, deliveryCase.BatchSize, sending.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"Sending did not finish within {sendTimeout.TotalSeconds:0} s.");
                }
            }

            await generator.SendControlAsync(channel, $"{{\"end\":{runId}}}", cancellationToken);
            try
            {
                await Task.WhenAll(recorders.Select(recorder => recorder.Ended)).WaitAsync(context.Options.DrainTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Some clients' markers did not arrive: what they miss is counted as lost.
            }
        }
        finally
        {
            result.WallSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            result.Batches = batches;
            result.StartTimestamp = start;
            if (meter is not null)
            {
                Apply(result, await meter.StopAsync());
            }
            else
            {
                result.LoadGeneratorCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalSeconds;
                result.PostgresCpuSeconds = context.PostmasterPid is { } pid ? ProcFs.PostgresCpuSeconds(pid) - postgresCpu : null;
                result.LoadAverageStart = loadStart;
                result.LoadAverageEnd = ProcFs.LoadAverage();
            }
        }
    }

    /// <summary>
    /// Waits until the server has delivered everything committed so far, and returns how long that took. A run that
    /// ends early (its clients were closed as slow consumers) can leave the server a backlog; new clients connected
    /// meanwhile would get it, and be closed in turn. One raw client waits for a probe, which PostgreSQL delivers
    /// after the backlog; if the backlog closes it too, another one tries.
    /// </summary>
    public static async Task<double> WaitUntilServerDrainedAsync(BenchContext context, BenchServer server, CancellationToken cancellationToken)
    {
        var generator = await context.GeneratorAsync(cancellationToken);
        var waited = Stopwatch.StartNew();
        string? lastFailure = null;
        while (waited.Elapsed < DrainLimit)
        {
            var runId = context.NextRunId();
            var readiness = new ReadinessBarrier(1);
            var recorder = new ClientRecorder(runId, 0, 0, readiness);
            await using var sentinel = new ClientSet(Transport.WebSocket, server);
            await sentinel.AddAsync(1, _ => recorder, parallelism: 1, cancellationToken);
            if (sentinel.Clients.Count == 0)
            {
                throw new InvalidOperationException("Could not connect to the server: " + sentinel.FirstError);
            }

            while (recorder.Failure is null && waited.Elapsed < DrainLimit)
            {
                await generator.SendControlAsync(context.Channel, $"{{\"probe\":{runId}}}", cancellationToken);
                try
                {
                    await readiness.AllReady.WaitAsync(TimeSpan.FromMilliseconds(250), cancellationToken);
                    return waited.Elapsed.TotalSeconds;
                }
                catch (TimeoutException)
                {
                    // Still behind: probe again.
                }
            }

            lastFailure = recorder.Failure;
        }

        throw new TimeoutException($"The server had not delivered its backlog after {DrainLimit.TotalSeconds:0} s" + (lastFailure is null ? "." : $"; last probe client: {lastFailure}."));
    }

    /// <summary>Sends probes until every client has received one: only then is every client registered by the server.</summary>
    private static async Task WaitUntilReadyAsync(NotifyGenerator generator, string channel, long runId, ReadinessBarrier readiness, ClientRecorder[] recorders, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (!readiness.AllReady.IsCompleted)
        {
            if (waited.Elapsed > ReadinessTimeout)
            {
                var disconnected = recorders.Where(recorder => recorder.Failure is not null).ToList();
                throw new TimeoutException($"Only {readiness.Ready} of {recorders.Length} clients received a probe within {ReadinessTimeout.TotalSeconds:0} s"
                    + (disconnected.Count == 0 ? "." : $"; {disconnected.Count} disconnected, first: {disconnected[0].Failure}."));
            }

            await generator.SendControlAsync(channel, $"{{\"probe\":{runId}}}", cancellationToken);
            try
            {
                await readiness.AllReady.WaitAsync(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
            catch (TimeoutException)
            {
                // Probe again: a client that connected after the last probe has not seen one.
            }
        }
    }

    private static void Apply(DeliveryResult result, ResourceUsage usage)
    {
        result.ServerCpuSeconds = usage.ServerCpuSeconds;
        result.ServerPeakRssMib = usage.ServerPeakRssKib / 1024.0;
        result.ServerPeakIsPerRun = usage.ServerPeakIsPerRun;
        result.ServerMaxSampledRssMib = usage.ServerMaxSampledRssKib / 1024.0;
        result.ServerRssAtStartMib = usage.ServerRssAtStartKib / 1024.0;
        result.PostgresCpuSeconds = usage.PostgresCpuSeconds;
        result.LoadGeneratorCpuSeconds = usage.LoadGeneratorCpuSeconds;
        result.ServerWarnings = usage.ServerWarnings;
        result.LoadAverageStart = usage.LoadAverageStart;
        result.LoadAverageEnd = usage.LoadAverageEnd;
    }

    private static void Summarise(DeliveryResult result, DeliveryCase deliveryCase, ClientRecorder[] recorders, long firstSequence)
    {
        var batches = result.Batches;
        var frequency = (double)Stopwatch.Frequency;
        result.NotifiesSent = batches.Sum(batch => (long)batch.Count);
        result.DeliveriesExpected = result.NotifiesSent * deliveryCase.Clients;
        result.DeliveriesReceived = recorders.Sum(recorder => (long)recorder.Received);
        result.Lost = Math.Max(0, result.DeliveriesExpected - result.DeliveriesReceived);
        result.Duplicated = recorders.Sum(recorder => (long)recorder.Duplicates);
        result.OutOfOrder = recorders.Sum(recorder => (long)recorder.OutOfOrder);
        result.Strays = recorders.Sum(recorder => (long)recorder.Strays);
        result.ClientsDisconnected = recorders.Count(recorder => recorder.Failure is not null);
        result.FirstDisconnect = recorders.Select(recorder => recorder.Failure).FirstOrDefault(failure => failure is not null);
        if (batches.Count > 0)
        {
            result.SendSeconds = (batches[^1].CommittedAt - result.StartTimestamp) / frequency;
            result.NotifiesPerSecond = result.NotifiesSent / result.SendSeconds;
        }

        var lastReceived = recorders.Max(recorder => recorder.LastReceivedAt);
        if (result.DeliveriesReceived > 0)
        {
            result.DeliverySeconds = (lastReceived - result.StartTimestamp) / frequency;
            result.DeliveriesPerSecond = result.DeliveriesReceived / result.DeliverySeconds;
        }

        // Latency of each delivery: its receive time minus the commit time of its batch.
        var latencies = new long[result.DeliveriesReceived];
        var count = 0;
        foreach (var recorder in recorders)
        {
            var receivedAt = recorder.ReceivedAt;
            foreach (var batch in batches)
            {
                var firstIndex = (int)(batch.FirstSequence - firstSequence);
                foreach (var timestamp in receivedAt.Slice(firstIndex, batch.Count))
                {
                    if (timestamp != 0)
                    {
                        latencies[count++] = timestamp - batch.CommittedAt;
                    }
                }
            }
        }

        if (count > 0)
        {
            Array.Sort(latencies, 0, count);
            double Milliseconds(long ticks) => ticks * 1000.0 / frequency;
            double Percentile(double fraction) => Milliseconds(latencies[Math.Clamp((int)Math.Ceiling(fraction * count) - 1, 0, count - 1)]);
            result.LatencyMinMs = Milliseconds(latencies[0]);
            result.LatencyP50Ms = Percentile(0.50);
            result.LatencyP90Ms = Percentile(0.90);
            result.LatencyP99Ms = Percentile(0.99);
            result.LatencyMaxMs = Milliseconds(latencies[count - 1]);
        }

        // The bare client does not go through the server: its CPU then is only the listener's idle share.
        if (result.ServerCpuSeconds is { } cpu && result.DeliveriesReceived > 0 && deliveryCase.Transport is not null)
        {
            result.ServerCpuMicrosecondsPerDelivery = cpu * 1e6 / result.DeliveriesReceived;
            result.ServerCpuSecondsPer1000Deliveries = cpu * 1_000 / result.DeliveriesReceived;
        }
    }

    private static CancellationTokenSource Timeout(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(timeout);
        return source;
    }
}
