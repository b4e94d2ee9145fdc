using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The server's entry of the <c>ConnectionStrings</c> section.</summary>
internal sealed class ConnectionStringsSettings
{
    public const string SectionName = "ConnectionStrings";

    [Description("The listener's database, as an Npgsql connection string (Host=…;Port=…;Username=…;Password=…;Database=…). When empty, the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE are used.")]
    public string Postgres { get; set; } = "";
}
