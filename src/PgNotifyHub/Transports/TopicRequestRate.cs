namespace PgNotifyHub.Transports;

/// <summary>
/// One connection's allowance of topic requests: a token bucket of <see cref="PgNotifyHubOptions.TopicRequestBurst"/>
/// requests, refilled at <see cref="PgNotifyHubOptions.TopicRequestsPerSecond"/>. Refilled from the time that passed when
/// a request comes, so an idle connection costs no timer.
/// </summary>
internal sealed class TopicRequestRate(double perSecond, int burst, TimeProvider time)
{
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private long _refilledAt = time.GetTimestamp();

    /// <summary>Takes one request's token; false when none is left.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_refilledAt, now).TotalSeconds * perSecond);
            _refilledAt = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }
}
