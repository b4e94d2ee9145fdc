using Npgsql;

namespace PgNotifyHub.Postgres;

/// <summary>
/// Where each of PgNotifyHub's database clients (the listener, the outbox reader, the backplane) gets its connections:
/// the <see cref="NpgsqlDataSource"/> registered by the application when <see cref="PgNotifyHubOptions.ConnectionString"/>
/// is not set, else one of its own built from that string, which it then owns and disposes.
/// </summary>
internal static class DataSources
{
    /// <param name="options">The options naming the connection string.</param>
    /// <param name="services">Where the application's data source is registered.</param>
    /// <param name="configure">Tunes a data source of its own for its use; its application name is set first, unless the string names one.</param>
    /// <param name="applicationName">How its connections show in <c>pg_stat_activity</c>.</param>
    /// <param name="owned">Whether the caller built it, and so disposes it.</param>
    public static NpgsqlDataSource Get(
        PgNotifyHubOptions options,
        IServiceProvider services,
        string applicationName,
        Action<NpgsqlConnectionStringBuilder> configure,
        out bool owned)
    {
        owned = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (!owned)
        {
            return (NpgsqlDataSource)services.GetService(typeof(NpgsqlDataSource))!;
        }

        // The slim builder, with only what PgNotifyHub's own queries and connections use (text, numbers, intervals, the
        // backplane's text arrays; TLS and Kerberos when the string asks for them): the full one brings in every type
        // Npgsql knows, which in the Native AOT server is megabytes of code in memory that nothing here calls.
        var builder = new NpgsqlSlimDataSourceBuilder(options.ConnectionString)
            .EnableArrays()
            .EnableTransportSecurity()
            .EnableIntegratedSecurity();
        builder.ConnectionStringBuilder.ApplicationName ??= applicationName;
        configure(builder.ConnectionStringBuilder);
        return builder.Build();
    }
}
