namespace PgNotifyHub.LoadTest;

/// <summary>The outcome of one <see cref="CommonCase"/> run. Times in seconds, latencies in milliseconds, memory in MiB.</summary>
internal sealed class CommonResult
{
    public required string Case { get; init; }

    public required string System { get; init; }

    public int Clients { get; init; }

    public int RatePerSecond { get; init; }

    public int PayloadBytes { get; init; }

    public int SenderSessions { get; init; }

    public int Repetition { get; init; }

    /// <summary>Set when the run could not complete; the counts are then partial.</summary>
    public string? Error { get; set; }

    /// <summary>From starting the server's process to its first Healthy /readyz.</summary>
    public double? ServerStartupSeconds { get; set; }

    /// <summary>The freshly started server's RSS, right after its first Healthy /readyz.</summary>
    public double? ServerRssAtStartMib { get; set; }

    /// <summary>Settled RSS after a short warm-up (10 clients, a few hundred messages), before the run's clients connect.</summary>
    public double? ServerRssBaseMib { get; set; }

    /// <summary>Settled RSS with the run's clients connected and idle, before the first message.</summary>
    public double? ServerRssIdleClientsMib { get; set; }

    /// <summary>(idle-clients RSS − base) / clients.</summary>
    public double? KibPerIdleConnection { get; set; }

    public double ConnectSeconds { get; set; }

    public long NotifiesSent { get; set; }

    public double SendSeconds { get; set; }

    public double NotifiesPerSecond { get; set; }

    /// <summary>How far behind its schedule the latest message was sent, in ms: the senders' own lag.</summary>
    public double SenderMaxLatenessMs { get; set; }

    public long DeliveriesExpected { get; set; }

    public long DeliveriesReceived { get; set; }

    /// <summary><see cref="DeliveriesExpected"/> − <see cref="DeliveriesReceived"/>, counted per client.</summary>
    public long Lost { get; set; }

    public long Duplicated { get; set; }

    public int ClientsDisconnected { get; set; }

    public string? FirstDisconnect { get; set; }

    /// <summary>Received ÷ the time from the first send to the last receipt.</summary>
    public double DeliveriesPerSecond { get; set; }

    public double? LatencyP50Ms { get; set; }

    public double? LatencyP90Ms { get; set; }

    public double? LatencyP99Ms { get; set; }

    public double? LatencyP999Ms { get; set; }

    public double? LatencyMaxMs { get; set; }

    /// <summary>The latency distribution as [percentile, ms] points: 0 to 100 by 1, and 99.5, 99.9.</summary>
    public List<double[]> LatencyCdf { get; set; } = [];

    public double? ServerCpuSeconds { get; set; }

    /// <summary>The headline: the server's utime+stime over the measured interval ÷ deliveries, in µs.</summary>
    public double? ServerCpuMicrosecondsPerDelivery { get; set; }

    public double? ServerMaxSampledRssMib { get; set; }

    public double? PostgresCpuSeconds { get; set; }

    public double LoadGeneratorCpuSeconds { get; set; }

    /// <summary>The load generator's CPU over the measured interval, in % of one core.</summary>
    public double LoadGeneratorCpuPercent { get; set; }

    /// <summary>Why the load generator may have limited the result, when it may have: its CPU, or its senders' lag.</summary>
    public string? LoadGeneratorSaturated { get; set; }

    public double WallSeconds { get; set; }

    public string? LoadAverageStart { get; set; }

    public string? LoadAverageEnd { get; set; }

    public int ServerWarnings { get; set; }

    /// <summary>The Stopwatch timestamp just before the first message was sent (not written to the JSON).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long StartTimestamp { get; set; }
}
