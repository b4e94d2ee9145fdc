using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// An OpenTelemetry tracer provider of the <c>PgNotifyHub</c> source (and any others named) whose in-memory exporter
/// writes here, so a test can await a span as exported. Listeners are process-wide: spans of other tests' hosts arrive
/// too, so tests pick theirs by their unique channel names.
/// </summary>
public sealed class ExportedSpans : IDisposable
{
    private readonly SignallingCollection _spans = new();
    private readonly TracerProvider _provider;

    public ExportedSpans(params string[] otherSources)
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource("PgNotifyHub")
            .AddSource(otherSources)
            .AddInMemoryExporter(_spans)
            .Build();
    }

    /// <summary>Every span exported so far.</summary>
    public IReadOnlyList<Activity> All => _spans.Snapshot();

    /// <summary>The first span exported, or to be exported, that matches.</summary>
    public Task<Activity> WaitForAsync(Func<Activity, bool> match, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        _spans.WaitForAsync(match).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>The span <paramref name="child"/> was started under, once exported.</summary>
    public Task<Activity> ParentOfAsync(Activity child, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        Assert.NotEqual(default, child.ParentSpanId);
        return WaitForAsync(span => span.TraceId == child.TraceId && span.SpanId == child.ParentSpanId, filePath, lineNumber);
    }

    public void Dispose() => _provider.Dispose();

    // The exporter adds from the threads that end spans.
    private sealed class SignallingCollection : Collection<Activity>
    {
        private readonly List<(Func<Activity, bool> Match, TaskCompletionSource<Activity> Found)> _waiting = [];
        private readonly Lock _lock = new();

        public IReadOnlyList<Activity> Snapshot()
        {
            lock (_lock)
            {
                return [.. Items];
            }
        }

        public Task<Activity> WaitForAsync(Func<Activity, bool> match)
        {
            lock (_lock)
            {
                if (Items.FirstOrDefault(match) is { } span)
                {
                    return Task.FromResult(span);
                }

                var found = new TaskCompletionSource<Activity>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Add((match, found));
                return found.Task;
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (_lock)
            {
                base.InsertItem(index, item);
                foreach (var waiter in _waiting.Where(waiter => waiter.Match(item)).ToList())
                {
                    waiter.Found.TrySetResult(item);
                    _waiting.Remove(waiter);
                }
            }
        }
    }
}
