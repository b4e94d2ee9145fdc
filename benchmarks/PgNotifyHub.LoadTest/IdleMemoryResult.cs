namespace PgNotifyHub.LoadTest;

/// <summary>One step of the idle-memory scenario: the server's settled RSS with this many idle connections open.</summary>
internal sealed class IdleMemoryResult
{
    public required string Transport { get; init; }

    public int Repetition { get; init; }

    public int ConnectionsTarget { get; init; }

    public int ConnectionsOpen { get; set; }

    public int ConnectFailures { get; set; }

    public string? FirstConnectError { get; set; }

    public string? Error { get; set; }

    /// <summary>The server process's RSS right after it reported healthy.</summary>
    public double? ServerRssAtStartupMib { get; set; }

    /// <summary>Settled RSS after the warm-up and before the first connection of this transport: the base.</summary>
    public double? ServerRssBaseMib { get; set; }

    public double? ServerRssAnonBaseMib { get; set; }

    /// <summary>Settled RSS with <see cref="ConnectionsOpen"/> idle connections.</summary>
    public double? ServerRssMib { get; set; }

    public double? ServerRssAnonMib { get; set; }

    /// <summary>(RSS − base) / connections open.</summary>
    public double? KibPerConnection { get; set; }

    public double? AnonKibPerConnection { get; set; }

    /// <summary>From the previous step: (RSS − its RSS) / (open − its open). It does not depend on the base.</summary>
    public double? StepKibPerConnection { get; set; }

    public double SettleSeconds { get; set; }

    public double ConnectSeconds { get; set; }

    /// <summary>After the last step: how many connections received a probe sent through PostgreSQL.</summary>
    public int? Alive { get; set; }

    public double? LoadGeneratorRssMib { get; set; }

    public string? OpenFileLimitServer { get; set; }

    public string? LoadAverage { get; set; }
}
