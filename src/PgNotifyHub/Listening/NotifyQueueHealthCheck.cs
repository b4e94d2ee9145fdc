using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Listening;

/// <summary>
/// Failing (the registration's failure status) while PostgreSQL's NOTIFY queue is filled to
/// <see cref="PgNotifyHubOptions.NotifyQueueUsageThreshold"/> or more: when it is full, every transaction that notifies fails.
/// </summary>
/// <param name="notifyQueueUsage">The usage the listener measured at its last heartbeat; NaN before the first.</param>
/// <param name="options">The threshold.</param>
internal sealed class NotifyQueueHealthCheck(Func<double> notifyQueueUsage, IOptions<PgNotifyHubOptions> options) : IHealthCheck
{
    public const string Name = "pgnotifyhub-notify-queue";

    public NotifyQueueHealthCheck(NotificationListener listener, IOptions<PgNotifyHubOptions> options)
        : this(() => listener.NotifyQueueUsage, options)
    {
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var usage = notifyQueueUsage();
        var threshold = options.Value.NotifyQueueUsageThreshold;
        var data = new Dictionary<string, object> { ["usage"] = usage, ["threshold"] = threshold };
        return Task.FromResult(
            double.IsNaN(usage) ? HealthCheckResult.Healthy("Not measured yet: the listener has not reached PostgreSQL.", data)
            : usage < threshold ? HealthCheckResult.Healthy(Describe(usage) + " of PostgreSQL's NOTIFY queue is in use.", data)
            : new HealthCheckResult(
                context.Registration.FailureStatus,
                Describe(usage) + " of PostgreSQL's NOTIFY queue is in use: a listening session is not consuming (one idle in a " +
                "long transaction holds the queue back); when the queue is full, every transaction that notifies fails.",
                data: data));
    }

    private static string Describe(double usage) => usage.ToString("P4", CultureInfo.InvariantCulture);
}
