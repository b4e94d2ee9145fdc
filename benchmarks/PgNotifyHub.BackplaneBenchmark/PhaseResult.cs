namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>One phase's numbers: deliveries are sends times the members of each send's group.</summary>
internal sealed record PhaseResult(long Sends, long Expected, long Received, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99, TimeSpan Max, CpuTimes Cpu)
{
    public double SendsPerSecond => Sends / Elapsed.TotalSeconds;

    public double DeliveriesPerSecond => Received / Elapsed.TotalSeconds;

    public long Lost => Expected - Received;

    /// <summary>Microseconds of CPU per send spent by the nodes and clients.</summary>
    public double ProcessCpuPerSend => Cpu.Process.TotalMicroseconds / Sends;

    /// <summary>Microseconds of CPU per send spent by the backplane's server.</summary>
    public double ServerCpuPerSend => Cpu.Server.TotalMicroseconds / Sends;
}
