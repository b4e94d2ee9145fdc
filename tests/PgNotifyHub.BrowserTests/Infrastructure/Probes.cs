using System.Diagnostics;
using System.Runtime.CompilerServices;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// A client reports "connected" before the server has registered its audience and issued LISTEN, and a
/// notification sent before that is not delivered to it (as with pgws); the same holds while the listener
/// reconnects. The server's readiness is not visible from outside its process, so tests send probe messages
/// until one arrives: the wait ends on that signal, and the interval only paces the resends.
/// </summary>
internal static class Probes
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary><c>audience,{"probe":"id","n":n}</c></summary>
    public static string Payload(string audience, string id, int n) => audience + ",{\"probe\":\"" + id + "\",\"n\":" + n + "}";

    /// <summary>Calls <paramref name="send"/> with 1, 2, 3… until <paramref name="arrived"/> completes, within the default timeout.</summary>
    public static async Task SendUntilAsync(
        Func<int, Task> send,
        Task arrived,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var limit = TimeoutExtensions.DefaultTimeout;
        var elapsed = Stopwatch.StartNew();
        for (var n = 1; !arrived.IsCompleted; n++)
        {
            if (limit != Timeout.InfiniteTimeSpan && elapsed.Elapsed > limit)
            {
                throw new TimeoutException($"None of {n - 1} probes arrived within {limit.TotalSeconds:0.#} s, waiting at {Path.GetFileName(filePath)}:{lineNumber}.");
            }

            await send(n);
            await Task.WhenAny(arrived, Task.Delay(Interval, cancellationToken));
        }

        await arrived;
    }
}
