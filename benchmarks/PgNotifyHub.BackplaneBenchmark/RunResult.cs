namespace PgNotifyHub.BackplaneBenchmark;

internal sealed record RunResult(Backplane Backplane, int Run, PhaseResult Throughput, PhaseResult Latency);
