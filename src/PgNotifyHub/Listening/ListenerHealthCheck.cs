using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PgNotifyHub.Listening;

/// <summary>
/// Healthy while the listener has LISTEN in place on a live connection; otherwise the registration's failure status,
/// saying why not when it knows.
/// </summary>
internal sealed class ListenerHealthCheck(NotificationListener listener) : IHealthCheck
{
    public const string Name = "pgnotifyhub-listener";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(listener.State == ListenerState.Listening
            ? HealthCheckResult.Healthy("Listening for notifications.")
            : new HealthCheckResult(
                context.Registration.FailureStatus,
                listener.LastError is { } error
                    ? $"Not connected to PostgreSQL ({error}): notifications are not being received."
                    : "Not connected to PostgreSQL: notifications are not being received."));
}
