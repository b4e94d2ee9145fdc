using System.Globalization;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.LoadTest;

/// <summary>Linux /proc readings of another process: CPU time, resident memory, its peak, and the machine's load.</summary>
internal static class ProcFs
{
    private static double? _clockTicksPerSecond;

    /// <summary>Kernel clock ticks per second, the unit of utime/stime (<c>getconf CLK_TCK</c>; 100 on Linux in practice).</summary>
    public static double ClockTicksPerSecond => _clockTicksPerSecond ?? 100;

    public static async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var output = await ProcessRunner.RunAsync("getconf", ["CLK_TCK"], TimeSpan.FromSeconds(10), cancellationToken);
            _clockTicksPerSecond = double.TryParse(output.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : null;
        }
        catch (Exception exception) when (exception is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            _clockTicksPerSecond = null;
        }
    }

    /// <summary>utime + stime of the process, in seconds; null when it is gone.</summary>
    public static double? CpuSeconds(int pid) =>
        StatFields(pid) is { } fields ? (Long(fields[11]) + Long(fields[12])) / ClockTicksPerSecond : null;

    /// <summary>
    /// CPU seconds of a postmaster and everything it runs: its own utime+stime, the cutime+cstime of children it
    /// has reaped (backends that ended), and the utime+stime of its live children.
    /// </summary>
    public static double? PostgresCpuSeconds(int postmasterPid)
    {
        if (StatFields(postmasterPid) is not { } postmaster)
        {
            return null;
        }

        long ticks = Long(postmaster[11]) + Long(postmaster[12]) + Long(postmaster[13]) + Long(postmaster[14]);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != postmasterPid
                && StatFields(pid) is { } child
                && Long(child[1]) == postmasterPid)
            {
                ticks += Long(child[11]) + Long(child[12]);
            }
        }

        return ticks / ClockTicksPerSecond;
    }

    /// <summary>VmRSS, VmHWM and RssAnon of the process, in KiB; null when it is gone.</summary>
    public static MemoryReading? Memory(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        long rss = 0, peak = 0, anonymous = 0;
        foreach (var line in lines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kibibytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kibibytes(line);
            }
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anonymous = Kibibytes(line);
            }
        }

        return new MemoryReading(rss, peak, anonymous);
    }

    /// <summary>Resets VmHWM to the current RSS (<c>echo 5 &gt; /proc/PID/clear_refs</c>), so a run's peak is its own.</summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The first three fields of /proc/loadavg.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>The soft "Max open files" limit of a process ("self" for this one).</summary>
    public static string OpenFileLimit(string pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(line => line.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: >= 5 } ? $"{fields[3]} (hard {fields[4]})" : "?";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    // The fields after the command name, which is in parentheses and may itself contain spaces and parentheses:
    // [0] is field 3 (state), [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
    private static string[]? StatFields(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var end = stat.LastIndexOf(')');
        return end < 0 ? null : stat[(end + 2)..].Split(' ');
    }

    private static long Long(string text) => long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static long Kibibytes(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
}
