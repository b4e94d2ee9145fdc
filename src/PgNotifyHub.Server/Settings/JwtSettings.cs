using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Authentication:Jwt</c> section: bearer tokens, signed with a shared key or by an OpenID Connect issuer.</summary>
internal sealed class JwtSettings
{
    [Description("The shared secret tokens are signed with (HS256 only), as plain text of at least 32 bytes.")]
    public string SigningKey { get; set; } = "";

    [Description("Instead of SigningKey: an OpenID Connect issuer whose keys are fetched from its discovery document and JWKS. Needs Authentication:Jwt:Audience.")]
    public string Authority { get; set; } = "";

    [Description("The discovery document, when it is not at <Authority>/.well-known/openid-configuration.")]
    public string MetadataAddress { get; set; } = "";

    [Description("false lets the authority be reached over http. Development only.")]
    public bool RequireHttpsMetadata { get; set; } = true;

    [Description("The iss a token must have. With Authority, the discovery document's issuer is always required.")]
    public string Issuer { get; set; } = "";

    [Description("The aud a token must have. Required with Authority; not checked with SigningKey when empty.")]
    public string Audience { get; set; } = "";

    [Description("How far past its exp a token is still accepted.")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}
