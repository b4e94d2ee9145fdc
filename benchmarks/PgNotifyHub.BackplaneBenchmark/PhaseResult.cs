namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>One phase's numbers: deliveries are sends times the members of each send's group.</summary>
internal sealed record PhaseResult(long Sends, long Expected, long Received, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99, TimeSpan Max)
{
    public double SendsPerSecond => Sends / Elapsed.TotalSeconds;

    public double DeliveriesPerSecond => Received / Elapsed.TotalSeconds;

    public long Lost => Expected - Received;
}
