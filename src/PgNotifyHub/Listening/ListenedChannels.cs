using Microsoft.Extensions.Options;

namespace PgNotifyHub.Listening;

/// <summary>
/// The channels the listener must LISTEN on, counted by leases: a mapped endpoint holds one for the life of
/// the application, an in-process subscription for its own. A channel is LISTENed while any lease holds it and
/// UNLISTENed when the last is released. Every change wakes the listener, which applies it on its live
/// connection; a new connection LISTENs on exactly the current set.
/// </summary>
internal sealed class ListenedChannels(IOptions<PgNotifyHubOptions> options)
{
    private const long NotListening = -1;

    private readonly Dictionary<string, int> _leases = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _defaultLeases;
    private long _version;
    private long _appliedVersion = NotListening;
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised after the set changed, on the thread that changed it.</summary>
    public event Action? Changed;

    /// <summary>Increases with every change of the set.</summary>
    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>Holds <paramref name="channels"/> in the set until the lease is disposed.</summary>
    public Lease Acquire(IReadOnlyList<string> channels) => Acquire(channels, isDefault: false);

    /// <summary>
    /// Holds the application's default channels (<see cref="PgNotifyHubOptions.Channels"/>), which are read only
    /// when the listener needs them, after options have been validated.
    /// </summary>
    public Lease AcquireDefault() => Acquire([], isDefault: true);

    public (IReadOnlySet<string> Channels, long Version) Snapshot()
    {
        lock (_lock)
        {
            var channels = new HashSet<string>(_leases.Keys, StringComparer.Ordinal);
            if (_defaultLeases > 0)
            {
                channels.UnionWith(options.Value.Channels);
            }

            return (channels, _version);
        }
    }

    /// <summary>Called by the listener once the set of <paramref name="version"/> is LISTENed on its connection.</summary>
    public void MarkListening(long version)
    {
        TaskCompletionSource applied;
        lock (_lock)
        {
            _appliedVersion = version;
            applied = _applied;
            _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        applied.TrySetResult();
    }

    /// <summary>Called by the listener when its connection ends.</summary>
    public void MarkNotListening()
    {
        lock (_lock)
        {
            _appliedVersion = NotListening;
        }
    }

    /// <summary>Completes once a set at least as recent as <paramref name="version"/> is LISTENed on a live connection.</summary>
    public async Task WaitUntilListeningAsync(long version, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task applied;
            lock (_lock)
            {
                if (_appliedVersion >= version)
                {
                    return;
                }

                applied = _applied.Task;
            }

            await applied.WaitAsync(cancellationToken);
        }
    }

    private Lease Acquire(IReadOnlyList<string> channels, bool isDefault)
    {
        bool changed;
        long version;
        lock (_lock)
        {
            changed = isDefault && _defaultLeases++ == 0;
            foreach (var channel in channels)
            {
                var count = _leases.GetValueOrDefault(channel);
                _leases[channel] = count + 1;
                changed |= count == 0;
            }

            version = changed ? ++_version : _version;
        }

        if (changed)
        {
            Changed?.Invoke();
        }

        return new Lease(this, channels, isDefault, version);
    }

    private void Release(IReadOnlyList<string> channels, bool isDefault)
    {
        bool changed;
        lock (_lock)
        {
            changed = isDefault && --_defaultLeases == 0;
            foreach (var channel in channels)
            {
                var count = _leases[channel] - 1;
                if (count == 0)
                {
                    _leases.Remove(channel);
                    changed = true;
                }
                else
                {
                    _leases[channel] = count;
                }
            }

            if (changed)
            {
                _version++;
            }
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>Keeps channels in the set until disposed.</summary>
    public sealed class Lease(ListenedChannels owner, IReadOnlyList<string> channels, bool isDefault, long version) : IDisposable
    {
        private int _released;

        /// <summary>The version of the set that first included the lease's channels.</summary>
        public long Version { get; } = version;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(channels, isDefault);
            }
        }
    }
}
