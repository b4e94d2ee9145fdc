using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Listening;

namespace PgNotifyHub.Tests.Options;

/// <summary>
/// <see cref="PgNotifyHubOptions.ListenerHealthCheck"/> and <see cref="PgNotifyHubOptions.NotifyQueueHealthCheck"/>
/// decide whether each check is registered, under which name and tags, and what it reports when it fails; by default
/// both are registered as before: named, tagged <c>ready</c>, Unhealthy.
/// </summary>
public sealed class HealthCheckOptionsTests
{
    // Nothing listens on port 1; the hosts are never started, so the listener never connects.
    private const string UnreachableDatabase = "Host=127.0.0.1;Port=1;Username=postgres;Timeout=1";

    [Fact]
    public void By_default_both_checks_are_registered_named_tagged_ready_and_unhealthy_on_failure()
    {
        using var host = BuildHost();

        var registrations = Registrations(host);

        Assert.Equal(["pgnotifyhub-listener", "pgnotifyhub-notify-queue"], registrations.Select(r => r.Name));
        Assert.All(registrations, registration =>
        {
            Assert.Equal(["ready"], registration.Tags);
            Assert.Equal(HealthStatus.Unhealthy, registration.FailureStatus);
        });
    }

    [Fact]
    public void Names_and_tags_set_in_code_replace_the_defaults()
    {
        using var host = BuildHost(configure: options =>
        {
            options.ListenerHealthCheck.Name = "postgres-listen";
            options.ListenerHealthCheck.Tags = ["ready", "live"];
            options.NotifyQueueHealthCheck.Tags.Add("postgres");
        });

        var registrations = Registrations(host).ToDictionary(r => r.Name);

        Assert.Equal(["postgres-listen", "pgnotifyhub-notify-queue"], registrations.Keys);
        Assert.Equal(["live", "ready"], registrations["postgres-listen"].Tags.Order());
        Assert.Equal(["postgres"], registrations["pgnotifyhub-notify-queue"].Tags);
    }

    [Fact]
    public void Configuration_sets_name_tags_failure_status_and_turns_a_check_off()
    {
        using var host = BuildHost(new Dictionary<string, string?>
        {
            ["PgNotifyHub:ListenerHealthCheck:Enabled"] = "false",
            ["PgNotifyHub:NotifyQueueHealthCheck:Name"] = "notify-queue",
            ["PgNotifyHub:NotifyQueueHealthCheck:FailureStatus"] = "Degraded",
            ["PgNotifyHub:NotifyQueueHealthCheck:Tags:0"] = "live",
        });

        var registration = Assert.Single(Registrations(host));

        Assert.Equal("notify-queue", registration.Name);
        Assert.Equal(HealthStatus.Degraded, registration.FailureStatus);
        Assert.Equal(["live"], registration.Tags);
    }

    [Fact]
    public void Both_checks_can_be_turned_off()
    {
        using var host = BuildHost(configure: options => (options.ListenerHealthCheck.Enabled, options.NotifyQueueHealthCheck.Enabled) = (false, false));

        Assert.Empty(Registrations(host));
    }

    [Theory]
    [InlineData(HealthStatus.Unhealthy)]
    [InlineData(HealthStatus.Degraded)]
    public async Task A_listener_without_a_connection_reports_the_configured_failure_status(HealthStatus failureStatus)
    {
        using var host = BuildHost(configure: options => options.ListenerHealthCheck.FailureStatus = failureStatus);

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        Assert.Equal(failureStatus, report.Entries["pgnotifyhub-listener"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["pgnotifyhub-notify-queue"].Status);
    }

    [Theory]
    [InlineData(HealthStatus.Unhealthy)]
    [InlineData(HealthStatus.Degraded)]
    public async Task A_NOTIFY_queue_over_the_threshold_reports_the_configured_failure_status(HealthStatus failureStatus)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new PgNotifyHubOptions { NotifyQueueUsageThreshold = 0.5 });
        var check = new NotifyQueueHealthCheck(() => 0.75, options);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("queue", check, failureStatus, tags: null) };

        var result = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal(failureStatus, result.Status);
        Assert.Equal(0.75, result.Data["usage"]);
    }

    [Theory]
    [InlineData("PgNotifyHub:ListenerHealthCheck:Name", " ", "ListenerHealthCheck:Name")]
    [InlineData("PgNotifyHub:NotifyQueueHealthCheck:Name", "pgnotifyhub-listener", "NotifyQueueHealthCheck:Name")]
    [InlineData("PgNotifyHub:NotifyQueueHealthCheck:FailureStatus", "Healthy", "NotifyQueueHealthCheck:FailureStatus")]
    [InlineData("PgNotifyHub:ListenerHealthCheck:Tags:0", " ", "ListenerHealthCheck:Tags")]
    public async Task A_bad_health_check_setting_stops_startup_naming_it(string key, string value, string settingName)
    {
        using var host = BuildHost(new Dictionary<string, string?> { [key] = value });

        var exception = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(settingName, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checks_turned_off_may_share_a_name_with_one_that_is_on()
    {
        using var host = BuildHost(configure: options =>
        {
            options.NotifyQueueHealthCheck.Name = "pgnotifyhub-listener";
            options.ListenerHealthCheck.Enabled = false;
        });

        Assert.Equal("pgnotifyhub-listener", Assert.Single(Registrations(host)).Name);
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HealthStatus.Healthy, report.Entries["pgnotifyhub-listener"].Status);
    }

    private static IReadOnlyList<HealthCheckRegistration> Registrations(IHost host) =>
        [.. host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations];

    private static IHost BuildHost(Dictionary<string, string?>? configuration = null, Action<PgNotifyHubOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration ?? []);
        builder.Logging.ClearProviders();
        builder.Services.AddPgNotifyHub(options =>
        {
            options.ConnectionString = UnreachableDatabase;
            configure?.Invoke(options);
        });
        return builder.Build();
    }
}
