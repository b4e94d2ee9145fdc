using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Audiences</c> section: how the server decides the audiences of a connection.</summary>
internal sealed class AudiencesSettings
{
    public const string SectionName = "Audiences";

    [Description("Default: every connection is in Audiences:Default. Header: the comma-separated audiences of the request header Audiences:Header, which a trusted reverse proxy must set (replacing the client's). Claim: the values of the token's claim Audiences:Claim (needs Authentication:Jwt).")]
    public AudienceSource Source { get; set; } = AudienceSource.Default;

    [Description("The audience of every connection when Audiences:Source is Default.")]
    public string Default { get; set; } = PgNotifyHubOptions.DefaultAudience;

    [Description("The request header read when Audiences:Source is Header.")]
    public string Header { get; set; } = "X-PgNotifyHub-Audience";

    [Description("The token claim read when Audiences:Source is Claim, named as in the token, e.g. tenant; one audience per value, a JSON array claim gives one per element.")]
    public string Claim { get; set; } = "";
}
