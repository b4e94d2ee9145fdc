using System.Diagnostics;
using System.Globalization;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>
/// CPU time spent by this process (nodes and clients) and by a server process with its children (PostgreSQL's
/// backends, or redis-server), read from /proc: what a send costs the machine, which a loaded machine's wall clock
/// blurs.
/// </summary>
internal sealed class CpuMeter(int? serverPid)
{
    // USER_HZ, which /proc counts in, is 100 on every Linux architecture .NET runs on.
    private const double SecondsPerClockTick = 1.0 / 100;

    public CpuTimes Read() => new(Process.GetCurrentProcess().TotalProcessorTime, serverPid is { } pid ? TreeTime(pid) : TimeSpan.Zero);

    // utime and stime, in clock ticks, are fields 14 and 15 of /proc/PID/stat; the parent is field 4. The command name
    // (field 2) is in parentheses and may hold spaces, so fields are counted after its closing one.
    private static TimeSpan TreeTime(int root)
    {
        var ticks = 0L;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }

            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pid == root || parent == root)
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }

        return TimeSpan.FromSeconds(ticks * SecondsPerClockTick);
    }
}

internal readonly record struct CpuTimes(TimeSpan Process, TimeSpan Server)
{
    public static CpuTimes operator -(CpuTimes end, CpuTimes start) => new(end.Process - start.Process, end.Server - start.Server);
}
