using System.Diagnostics;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// Measures one run: CPU of the server (utime+stime from /proc/PID/stat), of PostgreSQL and of this process as
/// deltas; the server's peak RSS (VmHWM, reset at the start when the kernel allows) and its RSS sampled every 100 ms.
/// </summary>
internal sealed class ResourceMeter
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    private readonly BenchServer _server;
    private readonly int? _postmasterPid;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly double? _serverCpu;
    private readonly double? _postgresCpu;
    private readonly TimeSpan _ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long? _rssAtStart;
    private readonly bool _peakReset;
    private readonly int _warnings;
    private readonly string _loadAverage = ProcFs.LoadAverage();
    private readonly CancellationTokenSource _stopSampling = new();
    private readonly Task<long?> _sampler;

    private ResourceMeter(BenchServer server, int? postmasterPid)
    {
        _server = server;
        _postmasterPid = postmasterPid;
        _warnings = server.Warnings;
        if (server.Pid is { } pid)
        {
            _peakReset = ProcFs.ResetPeak(pid);
            _rssAtStart = ProcFs.Memory(pid)?.RssKib;
            _serverCpu = ProcFs.CpuSeconds(pid);
        }

        _postgresCpu = postmasterPid is { } postmaster ? ProcFs.PostgresCpuSeconds(postmaster) : null;
        _sampler = SampleAsync(server.Pid, _stopSampling.Token);
    }

    public static ResourceMeter Start(BenchServer server, int? postmasterPid) => new(server, postmasterPid);

    public async Task<ResourceUsage> StopAsync()
    {
        var wall = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - _ownCpu).TotalSeconds;
        double? serverCpu = null;
        MemoryReading? memory = null;
        if (_server.Pid is { } pid)
        {
            serverCpu = ProcFs.CpuSeconds(pid) - _serverCpu;
            memory = ProcFs.Memory(pid);
        }

        var postgresCpu = _postmasterPid is { } postmaster ? ProcFs.PostgresCpuSeconds(postmaster) - _postgresCpu : null;
        await _stopSampling.CancelAsync();
        var maxSampled = await _sampler;
        _stopSampling.Dispose();
        if (memory is { RssKib: var rss } && maxSampled is { } sampled)
        {
            maxSampled = Math.Max(rss, sampled);
        }

        return new ResourceUsage(
            wall,
            serverCpu,
            _rssAtStart,
            memory?.PeakKib,
            _peakReset,
            maxSampled,
            postgresCpu,
            ownCpu,
            _server.Warnings - _warnings,
            _loadAverage,
            ProcFs.LoadAverage());
    }

    private static async Task<long?> SampleAsync(int? pid, CancellationToken cancellationToken)
    {
        if (pid is not { } serverPid)
        {
            return null;
        }

        long? max = null;
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            do
            {
                if (ProcFs.Memory(serverPid) is { RssKib: var rss })
                {
                    max = Math.Max(max ?? 0, rss);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        return max;
    }
}
