using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Listening;
using PgNotifyHub.Postgres;
using PgNotifyHub.Transports;

namespace PgNotifyHub.Configuration;

internal sealed class PgNotifyHubOptionsValidator(IServiceProviderIsService serviceCheck) : IValidateOptions<PgNotifyHubOptions>
{
    private const string Prefix = PgNotifyHubOptions.SectionName + ":";

    // Room for SignalR's handshake and pings, and for a raw client's close frame with its reason.
    private const int MinClientMessageSize = 256;

    public ValidateOptionsResult Validate(string? name, PgNotifyHubOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.ConnectionString) && !serviceCheck.IsService(typeof(NpgsqlDataSource)))
        {
            failures.Add(
                $"No database to listen on: set the connection string ConnectionStrings:{PgNotifyHubOptions.ConnectionStringName} (in appsettings.json, or the "
                + $"environment variable ConnectionStrings__{PgNotifyHubOptions.ConnectionStringName}), or {Prefix}{nameof(options.ConnectionString)}, "
                + "or register an NpgsqlDataSource.");
        }

        foreach (var channel in options.Channels)
        {
            if (!ChannelName.IsValid(channel))
            {
                failures.Add($"{Prefix}{nameof(options.Channels)} contains {ChannelName.Describe(channel)}.");
            }
        }

        if (options.Channels.Distinct(StringComparer.Ordinal).Count() != options.Channels.Count)
        {
            failures.Add($"{Prefix}{nameof(options.Channels)} lists a channel more than once.");
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (!OriginPolicy.IsValidEntry(origin))
            {
                failures.Add($"{Prefix}{nameof(options.AllowedOrigins)} contains '{origin}', which is neither '*' nor an origin such as https://app.example.com (scheme, host and optional port; no path).");
            }
        }

        RequirePositive(failures, options.ReconnectDelayMin, nameof(options.ReconnectDelayMin));
        RequirePositive(failures, options.ReconnectDelayMax, nameof(options.ReconnectDelayMax));
        if (options.ReconnectDelayMin > options.ReconnectDelayMax)
        {
            failures.Add($"{Prefix}{nameof(options.ReconnectDelayMin)} ({options.ReconnectDelayMin}) is greater than {Prefix}{nameof(options.ReconnectDelayMax)} ({options.ReconnectDelayMax}).");
        }

        RequirePositive(failures, options.HeartbeatInterval, nameof(options.HeartbeatInterval));
        RequirePositive(failures, options.WebSocketKeepAliveInterval, nameof(options.WebSocketKeepAliveInterval));
        RequirePositive(failures, options.WebSocketCloseTimeout, nameof(options.WebSocketCloseTimeout));
        RequirePositive(failures, options.EventStreamKeepAliveInterval, nameof(options.EventStreamKeepAliveInterval));
        RequirePositive(failures, options.EventStreamRetryDelay, nameof(options.EventStreamRetryDelay));

        if (!(options.NotifyQueueUsageThreshold > 0 && options.NotifyQueueUsageThreshold <= 1))
        {
            failures.Add($"{Prefix}{nameof(options.NotifyQueueUsageThreshold)} must be greater than 0 and at most 1, not {options.NotifyQueueUsageThreshold}.");
        }

        if (options.MaxConnections < 1)
        {
            failures.Add($"{Prefix}{nameof(options.MaxConnections)} must be at least 1 when set, not {options.MaxConnections}.");
        }

        if (options.MaxAudiencesPerConnection < 1)
        {
            failures.Add($"{Prefix}{nameof(options.MaxAudiencesPerConnection)} must be at least 1, not {options.MaxAudiencesPerConnection}.");
        }

        if (!(options.TopicRequestsPerSecond > 0 && double.IsFinite(options.TopicRequestsPerSecond)))
        {
            failures.Add($"{Prefix}{nameof(options.TopicRequestsPerSecond)} must be greater than 0, not {options.TopicRequestsPerSecond}.");
        }

        if (options.TopicRequestBurst < 1)
        {
            failures.Add($"{Prefix}{nameof(options.TopicRequestBurst)} must be at least 1, not {options.TopicRequestBurst}.");
        }

        if (options.MaxClientMessageSize < MinClientMessageSize)
        {
            failures.Add($"{Prefix}{nameof(options.MaxClientMessageSize)} must be at least {MinClientMessageSize} bytes, not {options.MaxClientMessageSize}.");
        }

        if (options.SendQueueCapacity < 1)
        {
            failures.Add($"{Prefix}{nameof(options.SendQueueCapacity)} must be at least 1, not {options.SendQueueCapacity}.");
        }

        if (options.ReplayBufferSize < 0)
        {
            failures.Add($"{Prefix}{nameof(options.ReplayBufferSize)} must be 0 (no replay) or more, not {options.ReplayBufferSize}.");
        }

        RequirePositive(failures, options.ReplayWindow, nameof(options.ReplayWindow));
        if (options.ReplayBufferMaxBytes < 0)
        {
            failures.Add($"{Prefix}{nameof(options.ReplayBufferMaxBytes)} must be 0 (no replay) or more, not {options.ReplayBufferMaxBytes}.");
        }

        if (options.Outbox is null)
        {
            failures.Add($"{Prefix}{nameof(options.Outbox)} must not be null.");
        }
        else if (options.Outbox.Enabled)
        {
            if (string.IsNullOrWhiteSpace(options.Outbox.ReaderName))
            {
                failures.Add($"{Prefix}{nameof(options.Outbox)}:{nameof(options.Outbox.ReaderName)} must name this node.");
            }

            RequirePositive(failures, options.Outbox.Retention, $"{nameof(options.Outbox)}:{nameof(options.Outbox.Retention)}");
            RequirePositive(failures, options.Outbox.PollInterval, $"{nameof(options.Outbox)}:{nameof(options.Outbox.PollInterval)}");
        }

        if (!Enum.IsDefined(options.SlowConsumerPolicy))
        {
            failures.Add($"{Prefix}{nameof(options.SlowConsumerPolicy)} must be Close or DropOldest, not {options.SlowConsumerPolicy}.");
        }

        if (options.LatencyTimestampProperty is { } property && string.IsNullOrWhiteSpace(property))
        {
            failures.Add($"{Prefix}{nameof(options.LatencyTimestampProperty)} must name a property of the payload, or be left unset.");
        }

        ValidateHealthCheck(failures, options.ListenerHealthCheck, nameof(options.ListenerHealthCheck));
        ValidateHealthCheck(failures, options.NotifyQueueHealthCheck, nameof(options.NotifyQueueHealthCheck));
        if (options is { ListenerHealthCheck: { Enabled: true } listener, NotifyQueueHealthCheck: { Enabled: true } queue }
            && (listener.Name ?? ListenerHealthCheck.Name) == (queue.Name ?? NotifyQueueHealthCheck.Name))
        {
            failures.Add($"{Prefix}{nameof(options.ListenerHealthCheck)}:Name and {Prefix}{nameof(options.NotifyQueueHealthCheck)}:Name are both '{queue.Name ?? NotifyQueueHealthCheck.Name}': each health check needs a name of its own.");
        }

        if (options.AudienceResolver is null)
        {
            failures.Add($"{Prefix}{nameof(options.AudienceResolver)} must not be null.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateHealthCheck(List<string> failures, PgNotifyHubHealthCheckOptions? check, string setting)
    {
        if (check is null)
        {
            failures.Add($"{Prefix}{setting} must not be null.");
            return;
        }

        if (check.Name is { } name && string.IsNullOrWhiteSpace(name))
        {
            failures.Add($"{Prefix}{setting}:{nameof(check.Name)} must name the check, or be left unset.");
        }

        if (check.FailureStatus is not (HealthStatus.Unhealthy or HealthStatus.Degraded))
        {
            failures.Add($"{Prefix}{setting}:{nameof(check.FailureStatus)} must be Unhealthy or Degraded, not {check.FailureStatus}.");
        }

        if (check.Tags is null || check.Tags.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{Prefix}{setting}:{nameof(check.Tags)} must be a list of tags (empty for 'ready'), none of them blank.");
        }
    }

    private static void RequirePositive(List<string> failures, TimeSpan value, string setting)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{setting} must be positive, not {value}.");
        }
    }
}
