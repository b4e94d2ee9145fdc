using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The one way tests wait: every await of a signal goes through here, so a missing signal fails the test
/// after a bounded time with the file and line that waited, instead of hanging the run.
/// </summary>
public static class TimeoutExtensions
{
    /// <summary>Generous: the machine has 2 cores and CI may be loaded. Waits end as soon as the signal comes.</summary>
    public static readonly TimeSpan DefaultTimeout = Debugger.IsAttached ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(20);

    public static async Task<T> OrTimeout<T>(
        this Task<T> task,
        TimeSpan? timeout = null,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            return await task.WaitAsync(limit, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting at {Path.GetFileName(filePath)}:{lineNumber}.");
        }
    }

    public static async Task OrTimeout(
        this Task task,
        TimeSpan? timeout = null,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            await task.WaitAsync(limit, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting at {Path.GetFileName(filePath)}:{lineNumber}.");
        }
    }

    public static Task<T> OrTimeout<T>(
        this ValueTask<T> task,
        TimeSpan? timeout = null,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0) =>
        task.AsTask().OrTimeout(timeout, filePath, lineNumber);

    public static Task OrTimeout(
        this ValueTask task,
        TimeSpan? timeout = null,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0) =>
        task.AsTask().OrTimeout(timeout, filePath, lineNumber);
}
