namespace PgNotifyHub.Server.Settings;

/// <summary>Where a connection's audiences come from (<c>Audiences:Source</c>).</summary>
internal enum AudienceSource
{
    /// <summary>Every connection is in <c>Audiences:Default</c>.</summary>
    Default,

    /// <summary>The comma-separated audiences of a request header that a trusted reverse proxy sets.</summary>
    Header,

    /// <summary>The values of a claim of the connection's token.</summary>
    Claim,
}
