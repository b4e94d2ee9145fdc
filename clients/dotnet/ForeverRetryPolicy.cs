using System.Diagnostics;

namespace PgNotifyHub.ConsoleClient;

/// <summary>
/// Retries forever, where the default policy of SignalR's <c>WithAutomaticReconnect()</c> gives up after four attempts.
/// Delays grow exponentially from <see cref="MinDelay"/> up to <see cref="MaxDelay"/>, and each is a random 50-100 % of
/// that, so that the many clients cut off by one server restart do not all come back at the same instant.
/// </summary>
/// <remarks>
/// Counting retries per outage, as SignalR does, a server that accepts and at once drops the connection (it refused the
/// audience, it is shutting down) would be retried at the shortest delay forever. Here the backoff starts over only
/// after a connection that stayed up for <see cref="MaxDelay"/>.
/// </remarks>
internal sealed class ForeverRetryPolicy
{
    public static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private int _attempt;
    private long _connectedAt;

    /// <summary>Call when a connection has been established.</summary>
    public void Connected()
    {
        lock (_lock)
        {
            _connectedAt = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The wait before the next attempt, counting this one.</summary>
    public TimeSpan NextDelay()
    {
        lock (_lock)
        {
            if (_connectedAt != 0 && Stopwatch.GetElapsedTime(_connectedAt) >= MaxDelay)
            {
                _attempt = 0;
            }

            _connectedAt = 0;
            var capped = Math.Min(MaxDelay.TotalMilliseconds, MinDelay.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt++, 30)));
            return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble() * 0.5));
        }
    }
}
