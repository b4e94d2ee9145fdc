using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PgNotifyHub;

/// <summary>
/// How one of PgNotifyHub's health checks is registered: whether at all, under which name and tags, and what it
/// reports when it fails (<see cref="PgNotifyHubOptions.ListenerHealthCheck"/>,
/// <see cref="PgNotifyHubOptions.NotifyQueueHealthCheck"/>). Bound from configuration with the other options, e.g.
/// <c>PgNotifyHub:NotifyQueueHealthCheck:FailureStatus=Degraded</c>; validated at start.
/// </summary>
public sealed class PgNotifyHubHealthCheckOptions
{
    /// <summary>
    /// Registers the check. Default: <see langword="true"/>. <see langword="false"/> leaves it out of every health
    /// endpoint; the listener and its metrics work the same.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The check's name in health reports, unique among the application's checks. Default: <see langword="null"/>,
    /// the check's own name: <c>pgnotifyhub-listener</c> or <c>pgnotifyhub-notify-queue</c>. Not blank when set.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>
    /// What the check reports when it fails: <see cref="HealthStatus.Unhealthy"/> (the default) or
    /// <see cref="HealthStatus.Degraded"/>. ASP.NET Core's health endpoints answer 503 for Unhealthy and 200 for
    /// Degraded, so Degraded reports the failure without taking the node out of a load balancer.
    /// </summary>
    public HealthStatus FailureStatus { get; set; } = HealthStatus.Unhealthy;

    /// <summary>
    /// The check's tags, by which endpoints choose their checks
    /// (<c>MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains("ready") })</c>). Default: empty,
    /// which tags it <c>ready</c>; set tags replace <c>ready</c>.
    /// </summary>
    public IList<string> Tags { get; set; } = [];
}
