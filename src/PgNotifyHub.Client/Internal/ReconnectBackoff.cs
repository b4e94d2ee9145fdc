using System.Diagnostics;

namespace PgNotifyHub.Client.Internal;

/// <summary>
/// The delays between connection attempts, which never run out (SignalR's default policy gives up after four).
/// They grow exponentially from the minimum up to the maximum, and each is a random 50-100 % of that, so that the many
/// clients cut off by one server restart do not all come back at the same instant.
/// </summary>
/// <remarks>
/// Counting retries per outage, as SignalR does, a server that accepts and at once drops the connection (it refused the
/// audience, it is shutting down) would be retried at the shortest delay forever. Here the backoff starts over only
/// after a connection that stayed up for the maximum delay.
/// </remarks>
internal sealed class ReconnectBackoff(TimeSpan min, TimeSpan max)
{
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
            if (_connectedAt != 0 && Stopwatch.GetElapsedTime(_connectedAt) >= max)
            {
                _attempt = 0;
            }

            _connectedAt = 0;
            var capped = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt++, 30)));
            return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble() * 0.5));
        }
    }
}
