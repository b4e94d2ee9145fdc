using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Configuration;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Durable;
using PgNotifyHub.Listening;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;
using PgNotifyHub.Transports;
using PgNotifyHub.Transports.SignalR;

namespace PgNotifyHub;

/// <summary>Registers PgNotifyHub's services.</summary>
public static class PgNotifyHubServiceCollectionExtensions
{
    private const string JsonProtocolName = "json";
    private const string ReadinessTag = "ready";

    /// <summary>
    /// Adds PgNotifyHub configured from the <c>PgNotifyHub</c> configuration section only.
    /// See <see cref="AddPgNotifyHub(IServiceCollection, Action{PgNotifyHubOptions})"/>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>The same <paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddPgNotifyHub(this IServiceCollection services) => services.AddPgNotifyHub(static _ => { });

    /// <summary>
    /// Adds the PostgreSQL listener (with <see cref="PgNotificationSubscriber"/> for in-process subscriptions), the
    /// dispatcher, SignalR and the raw WebSocket endpoint's services, with
    /// <see cref="PgNotifyHubOptions"/> bound from the <c>PgNotifyHub</c> configuration section and then
    /// <paramref name="configure"/>. Options are validated when the host starts; invalid settings stop it with
    /// an <see cref="OptionsValidationException"/> naming each one. Also registers the health checks
    /// <c>pgnotifyhub-listener</c> and <c>pgnotifyhub-notify-queue</c>, tagged <c>ready</c> and Unhealthy when they fail,
    /// unless <see cref="PgNotifyHubOptions.ListenerHealthCheck"/> and <see cref="PgNotifyHubOptions.NotifyQueueHealthCheck"/>
    /// name, tag or turn them off. Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets options in code, after configuration has been bound.</param>
    /// <returns>The same <paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddPgNotifyHub(this IServiceCollection services, Action<PgNotifyHubOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var alreadyAdded = services.Any(service => service.ServiceType == typeof(ConnectionAdmission));
        services.AddPgNotifyHubListener(configure);
        if (alreadyAdded)
        {
            return services;
        }

        // AddHubOptions marks this hub's options as its own; without it SignalR ignores them for the global ones.
        services.AddSignalR().AddHubOptions<PgNotificationHub>(_ => { });
        // The envelope is embedded in the JSON hub protocol as raw bytes; another protocol an application
        // adds for its own hubs (MessagePack) could not carry it, so clients of this hub must speak JSON.
        // Clients call nothing but subscribe and unsubscribe, so what they may send is bounded like the raw endpoint's clients.
        services.AddOptions<HubOptions<PgNotificationHub>>().PostConfigure<IOptions<PgNotifyHubOptions>>((hub, options) =>
        {
            hub.SupportedProtocols = [JsonProtocolName];
            hub.MaximumReceiveMessageSize = options.Value.MaxClientMessageSize;
        });
        // The arguments' contracts, for when reflection cannot supply them: under Native AOT, or when the application set
        // resolvers of its own (an empty chain means the reflection-based one). After the application's configuration,
        // and first, so they are found whatever else the chain holds.
        services.AddOptions<JsonHubProtocolOptions>().PostConfigure(json =>
        {
            var chain = json.PayloadSerializerOptions.TypeInfoResolverChain;
            if (!JsonSerializer.IsReflectionEnabledByDefault || chain.Count > 0)
            {
                chain.Insert(0, HubMessages.ArgumentJson.Default);
            }
        });
        services.AddSingleton<ConnectionLimit>();
        services.AddSingleton<OriginPolicy>();
        services.AddSingleton<HandshakeChecks>();
        services.AddSingleton<TopicRequests>();
        services.AddSingleton<ConnectionAdmission>();
        services.AddHostedService<OutboxReader>();
        services.AddSingleton<HubLifetimeManager<PgNotificationHub>, NotifyHubLifetimeManager>();
        services.AddSingleton(provider => new PgNotificationSubscriber(
            provider.GetRequiredService<ListenedChannels>(),
            provider.GetRequiredService<NotificationSequencer>(),
            provider.GetRequiredService<IOptions<PgNotifyHubOptions>>(),
            provider.GetRequiredService<PgNotifyHubMetrics>(),
            provider.GetRequiredService<ILogger<PgNotificationSubscriber>>()));
        return services;
    }

    /// <summary>
    /// Adds the listener alone: its one connection, the dispatcher and its health checks, with the options bound from
    /// the <c>PgNotifyHub</c> section. The bridge's endpoints add their services on top of it; the backplane package
    /// needs only this, so an application that scales its own hubs out gets no endpoint it did not map.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets options in code, after configuration has been bound; null for none.</param>
    /// <returns>The same <paramref name="services"/>, for chaining.</returns>
    internal static IServiceCollection AddPgNotifyHubListener(this IServiceCollection services, Action<PgNotifyHubOptions>? configure)
    {
        var alreadyAdded = services.Any(service => service.ServiceType == typeof(NotificationListener));
        var options = services.AddOptions<PgNotifyHubOptions>();
        if (!alreadyAdded)
        {
            options.BindConfiguration(PgNotifyHubOptions.SectionName).ValidateOnStart();
        }

        // After binding, so code has the last word over configuration.
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (alreadyAdded)
        {
            return services;
        }

        // The connection string's usual home when neither configuration nor code set the option.
        options.PostConfigure<IServiceProvider>((o, provider) =>
        {
            if (string.IsNullOrWhiteSpace(o.ConnectionString))
            {
                o.ConnectionString = provider.GetService<IConfiguration>()?.GetConnectionString(PgNotifyHubOptions.ConnectionStringName);
            }

            if (o.Channels.Count == 0)
            {
                o.Channels = [PgNotifyHubOptions.DefaultChannel];
            }
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgNotifyHubOptions>, PgNotifyHubOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PgNotifyHubMetrics>();
        services.AddSingleton<NotificationQueue>();
        services.AddSingleton<NotificationRouter>();
        services.AddSingleton<INotificationFanOut>(provider => provider.GetRequiredService<NotificationRouter>());
        services.AddSingleton<NotificationSequencer>();
        services.AddSingleton<ChannelConsumers>();
        services.AddSingleton<ListenedChannels>();
        services.AddSingleton<NotificationListener>();
        services.AddHostedService(provider => provider.GetRequiredService<NotificationListener>());
        services.AddHostedService<NotificationDispatcher>();
        // Registered as the options say, once they are known: configuration and code may name, tag or turn them off.
        services.AddHealthChecks();
        services.AddOptions<HealthCheckServiceOptions>().Configure<IOptions<PgNotifyHubOptions>>((health, options) =>
        {
            AddHealthCheck(health, options.Value.ListenerHealthCheck, ListenerHealthCheck.Name, static provider =>
                new ListenerHealthCheck(provider.GetRequiredService<NotificationListener>()));
            AddHealthCheck(health, options.Value.NotifyQueueHealthCheck, NotifyQueueHealthCheck.Name, static provider =>
                new NotifyQueueHealthCheck(provider.GetRequiredService<NotificationListener>(), provider.GetRequiredService<IOptions<PgNotifyHubOptions>>()));
        });
        return services;
    }

    private static void AddHealthCheck(HealthCheckServiceOptions health, PgNotifyHubHealthCheckOptions check, string defaultName, Func<IServiceProvider, IHealthCheck> create)
    {
        if (check.Enabled)
        {
            health.Registrations.Add(new HealthCheckRegistration(
                check.Name ?? defaultName, create, check.FailureStatus, check.Tags.Count == 0 ? [ReadinessTag] : check.Tags));
        }
    }

    /// <summary>Adds PgNotifyHub listening through <paramref name="connectionString"/>.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="connectionString">The Npgsql connection string of the listener's connection.</param>
    /// <returns>The same <paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is null or empty.</exception>
    public static IServiceCollection AddPgNotifyHub(this IServiceCollection services, string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException(
                "The connection string is empty. Set ConnectionStrings:" + PgNotifyHubOptions.ConnectionStringName + " (or "
                + PgNotifyHubOptions.SectionName + ":" + nameof(PgNotifyHubOptions.ConnectionString) + ") in appsettings.json or the environment, "
                + "and call AddPgNotifyHub() without arguments to read it from there.",
                nameof(connectionString));
        }

        return services.AddPgNotifyHub(options => options.ConnectionString = connectionString);
    }
}
