using Microsoft.Extensions.Logging;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// Captures every log message of a test host so tests can assert on level, event and text, and await a
/// message as a signal. Also copies messages to the test's output, which xunit shows when a test fails.
/// </summary>
public sealed class InMemoryLoggerProvider(ITestOutputHelper? output) : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<LogEntry> _entries = [];
    private readonly List<Waiter> _waiters = [];
    private volatile bool _disposed;

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The sequence number the next entry will get: pass it to <see cref="WaitForAsync"/> to see only later ones.</summary>
    public long NextSequence
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public IReadOnlyList<LogEntry> Since(long sequence) => [.. Entries.Where(entry => entry.Sequence >= sequence)];

    /// <summary>
    /// Completes with the <paramref name="count"/>-th entry that matches, counting from entry number
    /// <paramref name="fromSequence"/> on, whether it has already been logged or is yet to come.
    /// </summary>
    public Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match, int count = 1, long fromSequence = 0)
    {
        lock (_lock)
        {
            var waiter = new Waiter(match, count);
            foreach (var entry in _entries.Skip((int)fromSequence))
            {
                if (waiter.Offer(entry))
                {
                    return waiter.Signal.Task;
                }
            }

            _waiters.Add(waiter);
            return waiter.Signal.Task;
        }
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose() => _disposed = true;

    private void Add(string category, LogLevel level, EventId eventId, string message, Exception? exception, IReadOnlyList<KeyValuePair<string, object?>> state)
    {
        LogEntry entry;
        lock (_lock)
        {
            entry = new LogEntry(_entries.Count, category, level, eventId, message, exception, state);
            _entries.Add(entry);
            _waiters.RemoveAll(waiter => waiter.Offer(entry));
        }

        if (output is not null && !_disposed)
        {
            try
            {
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {entry}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished; its output is closed.
            }
        }
    }

    // Signals asynchronously (RunContinuationsAsynchronously), so completing it under the lock is safe.
    private sealed class Waiter(Func<LogEntry, bool> match, int count)
    {
        private int _remaining = count;

        public TaskCompletionSource<LogEntry> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True once the awaited entry has been seen.</summary>
        public bool Offer(LogEntry entry)
        {
            if (!match(entry) || --_remaining > 0)
            {
                return false;
            }

            Signal.TrySetResult(entry);
            return true;
        }
    }

    private sealed class CapturingLogger(InMemoryLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            IReadOnlyList<KeyValuePair<string, object?>> values = state is IReadOnlyList<KeyValuePair<string, object?>> list ? [.. list] : [];
            provider.Add(category, logLevel, eventId, formatter(state, exception), exception, values);
        }
    }
}
