namespace PgNotifyHub.LoadTest;

/// <summary>One reading of /proc/PID/status, in KiB: VmRSS, VmHWM (peak RSS) and RssAnon (the heap-like part of RSS).</summary>
internal readonly record struct MemoryReading(long RssKib, long PeakKib, long AnonymousKib);
