namespace PgNotifyHub.LoadTest;

/// <summary>What the server, PostgreSQL and this process used during one measured run; null where it could not be read.</summary>
internal sealed record ResourceUsage(
    double WallSeconds,
    double? ServerCpuSeconds,
    long? ServerRssAtStartKib,
    long? ServerPeakRssKib,
    bool ServerPeakIsPerRun,
    long? ServerMaxSampledRssKib,
    double? PostgresCpuSeconds,
    double LoadGeneratorCpuSeconds,
    int ServerWarnings,
    string LoadAverageStart,
    string LoadAverageEnd);
