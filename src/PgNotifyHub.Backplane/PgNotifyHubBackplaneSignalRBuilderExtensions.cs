using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgNotifyHub.Backplane;

namespace PgNotifyHub;

/// <summary>Registers the PostgreSQL backplane for an application's SignalR hubs.</summary>
public static class PgNotifyHubBackplaneSignalRBuilderExtensions
{
    /// <summary>
    /// Adds the PostgreSQL backplane configured from the <c>PgNotifyHub:Backplane</c> configuration section only.
    /// See <see cref="AddPgNotifyHubBackplane(ISignalRServerBuilder, Action{PgNotifyHubBackplaneOptions})"/>.
    /// </summary>
    /// <param name="signalr">The application's SignalR builder.</param>
    /// <returns>The same <paramref name="signalr"/>, for chaining.</returns>
    public static ISignalRServerBuilder AddPgNotifyHubBackplane(this ISignalRServerBuilder signalr) =>
        signalr.AddPgNotifyHubBackplane(static _ => { });

    /// <summary>
    /// Scales the application's hubs out over PostgreSQL: sends to all, groups, users and connections reach the
    /// clients of every node that uses the same database and <see cref="PgNotifyHubBackplaneOptions.ChannelPrefix"/>.
    /// Messages are published with <c>pg_notify</c> from a small connection pool and received through PgNotifyHub's one
    /// listener connection, configured by the <c>PgNotifyHub</c> section (its <c>ConnectionString</c>, else the connection
    /// string <c>Postgres</c>), and shared with the notification bridge when the application also calls
    /// <see cref="PgNotifyHubServiceCollectionExtensions.AddPgNotifyHub(IServiceCollection, Action{PgNotifyHubOptions})"/>: a node
    /// holds one LISTEN connection whatever the number of hubs. The backplane alone maps no PgNotifyHub endpoint.
    /// <see cref="PgNotificationHub"/> keeps its own lifetime manager: every node receives NOTIFYs from PostgreSQL itself,
    /// never relayed by another node.
    /// Messages published while a node's listener is disconnected are lost to that node's clients. Options are
    /// validated when the host starts.
    /// </summary>
    /// <param name="signalr">The application's SignalR builder.</param>
    /// <param name="configure">Sets options in code, after configuration has been bound.</param>
    /// <returns>The same <paramref name="signalr"/>, for chaining.</returns>
    public static ISignalRServerBuilder AddPgNotifyHubBackplane(this ISignalRServerBuilder signalr, Action<PgNotifyHubBackplaneOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(signalr);
        ArgumentNullException.ThrowIfNull(configure);

        var services = signalr.Services;
        var alreadyAdded = services.Any(service => service.ServiceType == typeof(BackplanePublisher));
        var options = services.AddOptions<PgNotifyHubBackplaneOptions>();
        if (!alreadyAdded)
        {
            options.BindConfiguration(PgNotifyHubBackplaneOptions.SectionName).ValidateOnStart();
        }

        options.Configure(configure);
        if (alreadyAdded)
        {
            return signalr;
        }

        // The listener alone: an application that scales its own hubs out gets no PgNotifyHub endpoint it did not map.
        services.AddPgNotifyHubListener(configure: null);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgNotifyHubBackplaneOptions>, BackplaneOptionsValidator>());
        services.AddSingleton<BackplaneDatabase>();
        services.AddSingleton<BackplanePublisher>();
        // Open generic, so it serves the application's hubs only: the closed registration for PgNotificationHub wins over it.
        services.AddSingleton(typeof(HubLifetimeManager<>), typeof(PostgresHubLifetimeManager<>));
        return signalr;
    }
}
