using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Listening;

/// <summary>
/// Unhealthy while PostgreSQL's NOTIFY queue is filled to <see cref="PgNotifyHubOptions.NotifyQueueUsageThreshold"/>
/// or more: when it is full, every transaction that notifies fails.
/// </summary>
internal sealed class NotifyQueueHealthCheck(NotificationListener listener, IOptions<PgNotifyHubOptions> options) : IHealthCheck
{
    public const string Name = "pgnotifyhub-notify-queue";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var usage = listener.NotifyQueueUsage;
        var threshold = options.Value.NotifyQueueUsageThreshold;
        var data = new Dictionary<string, object> { ["usage"] = usage, ["threshold"] = threshold };
        return Task.FromResult(
            double.IsNaN(usage) ? HealthCheckResult.Healthy("Not measured yet: the listener has not reached PostgreSQL.", data)
            : usage < threshold ? HealthCheckResult.Healthy(Describe(usage) + " of PostgreSQL's NOTIFY queue is in use.", data)
            : HealthCheckResult.Unhealthy(
                Describe(usage) + " of PostgreSQL's NOTIFY queue is in use: a listening session is not consuming (one idle in a " +
                "long transaction holds the queue back); when the queue is full, every transaction that notifies fails.",
                data: data));
    }

    private static string Describe(double usage) => usage.ToString("P4", CultureInfo.InvariantCulture);
}
