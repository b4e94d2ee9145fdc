using System.Text.Json.Serialization;

namespace PgNotifyHub.LoadTest;

/// <summary>The outcome of one run of a <see cref="DeliveryCase"/>. Times in seconds, latencies in milliseconds, memory in MiB.</summary>
internal sealed class DeliveryResult
{
    public required string Case { get; init; }

    public required string Scenario { get; init; }

    public string? Transport { get; init; }

    public int Clients { get; init; }

    public int? RatePerSecond { get; init; }

    public int BatchSize { get; init; }

    public int Repetition { get; init; }

    /// <summary>Set when the run could not complete (setup failure, timeout, server gone); the counts are then partial.</summary>
    public string? Error { get; set; }

    /// <summary>Before the run: how long the server took to deliver what earlier runs left it (normally a few ms).</summary>
    public double? ServerDrainSeconds { get; set; }

    public long NotifiesSent { get; set; }

    public long DeliveriesExpected { get; set; }

    public long DeliveriesReceived { get; set; }

    public long Lost { get; set; }

    public long Duplicated { get; set; }

    public long OutOfOrder { get; set; }

    /// <summary>Messages outside the run's sequence range (late arrivals of an earlier run) or unreadable.</summary>
    public long Strays { get; set; }

    /// <summary>Clients whose connection ended during the run, and the first one's reason.</summary>
    public int ClientsDisconnected { get; set; }

    public string? FirstDisconnect { get; set; }

    /// <summary>From the first statement sent to the last commit returned.</summary>
    public double SendSeconds { get; set; }

    public double NotifiesPerSecond { get; set; }

    /// <summary>From the first statement sent to the last message received by any client.</summary>
    public double DeliverySeconds { get; set; }

    public double DeliveriesPerSecond { get; set; }

    /// <summary>Deliveries/s divided by the bare LISTEN client's notifies/s in the same repetition.</summary>
    public double? RatioToBare { get; set; }

    public double? LatencyP50Ms { get; set; }

    public double? LatencyP90Ms { get; set; }

    public double? LatencyP99Ms { get; set; }

    public double? LatencyMaxMs { get; set; }

    public double? LatencyMinMs { get; set; }

    public double? ServerCpuSeconds { get; set; }

    public double? ServerCpuMicrosecondsPerDelivery { get; set; }

    public double? ServerCpuSecondsPer1000Deliveries { get; set; }

    /// <summary>VmHWM at the end of the run: the run's own peak when <see cref="ServerPeakIsPerRun"/>, else since start.</summary>
    public double? ServerPeakRssMib { get; set; }

    public bool ServerPeakIsPerRun { get; set; }

    public double? ServerMaxSampledRssMib { get; set; }

    public double? ServerRssAtStartMib { get; set; }

    public double? PostgresCpuSeconds { get; set; }

    public double? LoadGeneratorCpuSeconds { get; set; }

    public int ServerWarnings { get; set; }

    public double WallSeconds { get; set; }

    public string? LoadAverageStart { get; set; }

    public string? LoadAverageEnd { get; set; }

    /// <summary>The statements sent, with their commit times (not written to the JSON).</summary>
    [JsonIgnore]
    public List<BatchRecord> Batches { get; set; } = [];

    /// <summary>The Stopwatch timestamp just before the first statement was sent.</summary>
    [JsonIgnore]
    public long StartTimestamp { get; set; }
}
