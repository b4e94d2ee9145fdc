using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>DevNotify</c> section: the demo page's development sender.</summary>
internal sealed class DevNotifySettings
{
    public const string SectionName = "DevNotify";

    [Description("Maps POST /dev/notify, which sends any notification to any audience, for the demo page. Development only: refused in the Production environment unless DevNotify:AllowInProduction is true.")]
    public bool Enabled { get; set; }

    [Description("Lets DevNotify:Enabled work in the Production environment.")]
    public bool AllowInProduction { get; set; }
}
