using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Postgres;

namespace PgNotifyHub.Listening;

/// <summary>
/// Holds the process's single PostgreSQL connection, LISTENs on the <see cref="ListenedChannels"/> and hands
/// every notification to the <see cref="NotificationQueue"/>. Reconnects with capped, jittered exponential backoff.
/// </summary>
/// <remarks>
/// A connection runs one command at a time, and waiting for notifications is one. To change the set of
/// channels while waiting, the wait is cancelled (which leaves the connection usable), LISTEN/UNLISTEN run on the
/// same connection, and the wait resumes; notifications that arrive meanwhile are read by those commands and
/// delivered as usual.
/// </remarks>
internal sealed class NotificationListener : BackgroundService
{
    private readonly PgNotifyHubOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly NotificationQueue _queue;
    private readonly ListenedChannels _channels;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger<NotificationListener> _logger;
    // The backend of the connection on which LISTEN is in place; 0 while there is none.
    private int _backendProcessId;
    private IReadOnlySet<string> _listened = new HashSet<string>();
    private double _notifyQueueUsage = double.NaN;
    private string? _lastError;

    // Cancelled to interrupt the wait when the channel set changes. Replaced only by the listening loop, and
    // always before it reads the set, so a change made after that read cancels the token the loop waits on.
    private CancellationTokenSource _wakeUp = new();

    public NotificationListener(
        IOptions<PgNotifyHubOptions> options,
        IServiceProvider services,
        NotificationQueue queue,
        ListenedChannels channels,
        PgNotifyHubMetrics metrics,
        ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _queue = queue;
        _channels = channels;
        _channels.Changed += WakeUp;
        _metrics = metrics;
        metrics.ObserveNotifyQueueUtilization(() => NotifyQueueUsage);
        _logger = loggerFactory.CreateLogger<NotificationListener>();

        // One long-lived session connection: a pool would only keep a second idle one, and LISTEN cannot work over
        // multiplexing.
        _dataSource = DataSources.Get(_options, services, "PgNotifyHub", static connection =>
        {
            connection.Pooling = false;
            connection.Multiplexing = false;
            connection.Enlist = false;
        }, out _ownsDataSource);
    }

    public ListenerState State => BackendProcessId != 0 ? ListenerState.Listening : ListenerState.Connecting;

    /// <summary>The process id of the backend on which LISTEN is in place; 0 while the listener has no connection.</summary>
    public int BackendProcessId => Volatile.Read(ref _backendProcessId);

    /// <summary>
    /// Raised after <see cref="State"/> changed: once LISTEN is in place on a new connection, and when a connection
    /// ends. Nothing in the library needs it: it lets a caller wait for a connection or a reconnect.
    /// </summary>
    public event Action? StateChanged;

    /// <summary>
    /// The fraction of PostgreSQL's NOTIFY queue in use (<c>pg_notification_queue_usage()</c>) at the last
    /// heartbeat; NaN before the first one.
    /// </summary>
    public double NotifyQueueUsage => Volatile.Read(ref _notifyQueueUsage);

    /// <summary>Why the last attempt to connect and listen failed, SQLSTATE first when PostgreSQL refused it; null while listening.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>The channels LISTENed on the current connection; empty while there is none.</summary>
    public IReadOnlySet<string> Listened => Volatile.Read(ref _listened);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogEffectiveConfiguration();
        var failedAttempts = 0;
        var sessions = 0;
        var failingSince = 0L;
        string? refusedWith = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(onListening: backend =>
                {
                    Log.Listening(_logger, Describe(Listened), backend);
                    var reconnected = sessions++ > 0;
                    if (reconnected)
                    {
                        _metrics.ListenerReconnected();
                    }

                    if (failedAttempts > 0)
                    {
                        Log.ListenerRecovered(_logger, failedAttempts, Stopwatch.GetElapsedTime(failingSince));
                        failedAttempts = 0;
                        refusedWith = null;
                    }

                    Volatile.Write(ref _lastError, null);

                    return reconnected;
                }, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                failedAttempts++;
                var delay = ReconnectDelay(failedAttempts, out var capped);
                Volatile.Write(ref _lastError, ConnectionRefusal.Describe(exception));
                if (failedAttempts == 1)
                {
                    failingSince = Stopwatch.GetTimestamp();
                }

                // A refusal that retrying cannot fix (a wrong password, a missing database) must not fade to Debug: it is
                // logged at Error when it first happens and each time the backoff is at its cap.
                var sqlState = (exception as PostgresException)?.SqlState;
                if (ConnectionRefusal.Hint(exception) is { } hint && (capped || sqlState != refusedWith))
                {
                    Log.ListenerRefused(_logger, sqlState!, ((PostgresException)exception).MessageText, hint, delay);
                    refusedWith = sqlState;
                }
                else if (failedAttempts == 1)
                {
                    Log.ListenerDisconnected(_logger, exception, _options.ReconnectDelayMin, _options.ReconnectDelayMax);
                }
                else
                {
                    Log.ListenerRetryFailed(_logger, failedAttempts, exception.Message, delay);
                }

                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    /// <param name="onListening">Called once LISTEN is in place, with the backend's process id; says whether the listener reconnected.</param>
    /// <param name="cancellationToken">Stops listening.</param>
    private async Task ListenAsync(Func<int, bool> onListening, CancellationToken cancellationToken)
    {
        // Ended once LISTEN is in place, or by what prevented it.
        var connecting = StartConnectSpan();
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);

            // Npgsql raises Notification inline while it reads, and only during the awaits below, so this
            // list is never touched concurrently; it is flushed to the queue before the next read.
            var received = new List<ReceivedNotification>();
            connection.Notification += (_, e) => received.Add(new ReceivedNotification(e.Channel, e.Payload));
            using var wakeUpOnStop = cancellationToken.UnsafeRegister(static listener => ((NotificationListener)listener!).WakeUp(), this);

            var listenedVersion = await ApplyChannelsAsync(connection, isNewConnection: true, cancellationToken);
            // Logged and counted first, so whoever awaits listening sees both.
            var reconnected = onListening(connection.ProcessID);
            PgNotifyHubTracing.ListenerConnected(connecting, connection.ProcessID, Listened, reconnected);
            if (reconnected)
            {
                // Ahead of what this connection has already received: clients learn of the gap before the news.
                received.Insert(0, ReceivedNotification.Reconnected);
            }

            Volatile.Write(ref _backendProcessId, connection.ProcessID);
            StateChanged?.Invoke();

            // The heartbeat proves the connection alive and measures PostgreSQL's NOTIFY queue, whose filling up
            // makes every notifying transaction fail; it runs every interval, busy or idle.
            await using var heartbeat = new NpgsqlCommand("SELECT pg_notification_queue_usage()", connection);
            var nextHeartbeat = Stopwatch.GetTimestamp();
            while (true)
            {
                // One span per read that delivered anything: the parent of the dispatcher's work on it.
                using (var receive = received.Count > 0 ? StartReceiveSpan(received, connection.ProcessID) : null)
                {
                    foreach (var notification in received)
                    {
                        var traced = notification with { Origin = receive };
                        if (!_queue.Writer.TryWrite(traced))
                        {
                            await _queue.Writer.WriteAsync(traced, cancellationToken);
                        }
                    }
                }

                received.Clear();
                if (_channels.Version != listenedVersion)
                {
                    listenedVersion = await ApplyChannelsAsync(connection, isNewConnection: false, cancellationToken);
                    continue;
                }

                var untilHeartbeat = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextHeartbeat);
                if (untilHeartbeat <= TimeSpan.Zero)
                {
                    var usage = (double)(await heartbeat.ExecuteScalarAsync(cancellationToken))!;
                    Volatile.Write(ref _notifyQueueUsage, usage);
                    Log.ListenerHeartbeat(_logger, usage);
                    nextHeartbeat = Stopwatch.GetTimestamp() + (long)(_options.HeartbeatInterval.TotalSeconds * Stopwatch.Frequency);
                    continue;
                }

                var wakeUp = Volatile.Read(ref _wakeUp);
                try
                {
                    // Whole milliseconds, rounded up: Npgsql takes a timeout of 0 ms to mean none at all.
                    await connection.WaitAsync(TimeSpan.FromMilliseconds(Math.Ceiling(untilHeartbeat.TotalMilliseconds)), wakeUp.Token);
                }
                catch (OperationCanceledException) when (wakeUp.IsCancellationRequested)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // The set may already be applied if it changed just before the last one was read.
                    Volatile.Write(ref _wakeUp, new CancellationTokenSource());
                }
            }
        }
        catch (Exception exception) when (PgNotifyHubTracing.Failed(connecting, exception))
        {
            // Never entered: the filter records the failure on the span and lets the exception go on.
            throw;
        }
        finally
        {
            _channels.MarkNotListening();
            Volatile.Write(ref _listened, new HashSet<string>());
            if (Interlocked.Exchange(ref _backendProcessId, 0) != 0)
            {
                StateChanged?.Invoke();
            }
        }
    }

    /// <summary>Brings the connection's LISTENs to the current set with one round trip; returns the set's version.</summary>
    private async Task<long> ApplyChannelsAsync(NpgsqlConnection connection, bool isNewConnection, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _wakeUp, new CancellationTokenSource());
        var (channels, version) = _channels.Snapshot();
        var listened = Listened;
        var added = channels.Where(channel => !listened.Contains(channel)).ToArray();
        var removed = listened.Where(channel => !channels.Contains(channel)).ToArray();
        if (added.Length + removed.Length > 0)
        {
            var commands = added.Select(channel => "LISTEN " + ChannelName.Quote(channel))
                .Concat(removed.Select(channel => "UNLISTEN " + ChannelName.Quote(channel)));
            await using var command = new NpgsqlCommand(string.Join(";", commands), connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (!isNewConnection)
            {
                Log.ChannelsChanged(_logger, Describe(added), Describe(removed), connection.ProcessID);
            }
        }

        Volatile.Write(ref _listened, channels);
        _channels.MarkListening(version);
        return version;
    }

    private void WakeUp() => Volatile.Read(ref _wakeUp).Cancel();

    private Activity? StartConnectSpan()
    {
        if (!PgNotifyHubTracing.Source.HasListeners())
        {
            return null;
        }

        var connection = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        return PgNotifyHubTracing.StartListenerConnect(connection.Host, connection.Port, connection.Database ?? connection.Username);
    }

    private static Activity? StartReceiveSpan(List<ReceivedNotification> received, int backendProcessId)
    {
        if (!PgNotifyHubTracing.Source.HasListeners())
        {
            return null;
        }

        var channel = received.Select(notification => notification.Channel).Where(channel => channel.Length > 0).Distinct().Take(2).ToList();
        return PgNotifyHubTracing.StartReceive(backendProcessId, received.Count, channel.Count == 1 ? channel[0] : null);
    }

    // One line an operator can check the deployment against. The database is named by its parts only, so no
    // password or other secret of the connection string can reach the log.
    private void LogEffectiveConfiguration()
    {
        var connection = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        var database = $"{connection.Host}:{connection.Port}/{connection.Database ?? connection.Username} as {connection.Username}";
        Log.Starting(
            _logger,
            database,
            Describe(_options.Channels),
            _options.ReconnectDelayMin,
            _options.ReconnectDelayMax,
            _options.HeartbeatInterval,
            _options.SendQueueCapacity,
            _options.SlowConsumerPolicy,
            _options.AllowedOrigins.Count == 0 ? "(same origin only)" : string.Join(", ", _options.AllowedOrigins),
            _options.MaxConnections?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited",
            _options.MaxAudiencesPerConnection);
    }

    private static string Describe(IEnumerable<string> channels) =>
        channels.Any() ? string.Join(", ", channels.Order(StringComparer.Ordinal)) : "(none)";

    // Equal jitter: at least half the exponential delay, so retries from many nodes spread out but never
    // hammer a server that is down.
    private TimeSpan ReconnectDelay(int failedAttempts, out bool atCap)
    {
        var exponential = _options.ReconnectDelayMin * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        atCap = exponential >= _options.ReconnectDelayMax;
        var capped = atCap ? _options.ReconnectDelayMax : exponential;
        return capped / 2 + capped / 2 * Random.Shared.NextDouble();
    }
}
