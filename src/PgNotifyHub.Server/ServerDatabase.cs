using System.ComponentModel;
using System.Reflection;
using Npgsql;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>The listener's database: <c>ConnectionStrings:Postgres</c>, else the libpq environment variables, as pgws's empty DSN.</summary>
internal static class ServerDatabase
{
    private const string Setting = ConnectionStringsSettings.SectionName + ":" + nameof(ConnectionStringsSettings.Postgres);
    private const string Example = "Host=db;Port=5432;Username=app;Password=…;Database=app";

    /// <exception cref="InvalidSettingException">The configured string is not one Npgsql can read; the message says why.</exception>
    public static string ConnectionString(IConfiguration configuration)
    {
        var configured = configuration.GetConnectionString(nameof(ConnectionStringsSettings.Postgres));
        if (!string.IsNullOrWhiteSpace(configured))
        {
            Check(configured);
            return configured;
        }

        var fromEnvironment = new NpgsqlConnectionStringBuilder
        {
            Host = Environment.GetEnvironmentVariable("PGHOST") ?? "localhost",
            Port = int.TryParse(Environment.GetEnvironmentVariable("PGPORT"), out var port) ? port : 5432,
            Username = Environment.GetEnvironmentVariable("PGUSER") ?? Environment.UserName,
        };
        fromEnvironment.Database = Environment.GetEnvironmentVariable("PGDATABASE") ?? fromEnvironment.Username;
        if (Environment.GetEnvironmentVariable("PGPASSWORD") is { } password)
        {
            fromEnvironment.Password = password;
        }

        return fromEnvironment.ConnectionString;
    }

    // Read once here, where the setting's name is known, rather than deep in the listener's construction. Only the
    // keyword and Npgsql's reason are echoed, never the string itself: it may hold a password.
    private static void Check(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException exception)
        {
            var keyword = exception.ParamName;
            throw new InvalidSettingException(exception.InnerException switch
            {
                KeyNotFoundException when keyword is not null =>
                    $"{Setting} has the keyword '{keyword}', which Npgsql does not know"
                    + (SettingsCheck.Closest(keyword, Keywords()) is { } closest ? $"; did you mean {closest}?" : ".")
                    + $" Write it as {Example} (every keyword: https://www.npgsql.org/doc/connection-string-parameters.html).",
                { } reason when keyword is not null => $"{Setting} has a value of '{keyword}' that Npgsql cannot read: {reason.Message}",
                _ => $"{Setting} is not a connection string Npgsql can read ({exception.Message}). Write it as {Example}.",
            });
        }
    }

    // Npgsql names each keyword of its builder's properties with a DisplayName: Host, Port, Username, SSL Mode…
    private static IEnumerable<string> Keywords() =>
        typeof(NpgsqlConnectionStringBuilder).GetProperties().Select(property => property.GetCustomAttribute<DisplayNameAttribute>()?.DisplayName).OfType<string>();
}
