namespace PgNotifyHub.LoadTest;

/// <summary>Everything one invocation measured, as written to the JSON file.</summary>
internal sealed class ReportDocument
{
    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset FinishedAt { get; set; }

    public IReadOnlyList<string> Arguments { get; set; } = [];

    public Dictionary<string, string> Machine { get; } = [];

    public Dictionary<string, string> Postgres { get; } = [];

    public Dictionary<string, string> PostgresSettings { get; } = [];

    public Dictionary<string, string> Server { get; } = [];

    public Dictionary<string, string> ServerGcSettings { get; } = [];

    public double? ServerRssAtStartupMib { get; set; }

    public double? ServerRssAfterWarmupMib { get; set; }

    public Dictionary<string, string> Options { get; } = [];

    public List<DeliveryResult> DeliveryRuns { get; } = [];

    public List<CommonResult> CommonRuns { get; } = [];

    public List<IdleMemoryResult> IdleMemory { get; } = [];

    public List<Dictionary<string, string>> Summary { get; } = [];

    public List<string> Errors { get; } = [];
}
