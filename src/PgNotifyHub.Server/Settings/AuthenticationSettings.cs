using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Authentication</c> section: who may connect to the hub and the raw endpoint.</summary>
internal sealed class AuthenticationSettings
{
    public const string SectionName = "Authentication";

    [Description("true lets the server start without Authentication:Jwt: anyone who reaches it may connect, and it logs a warning. Ignored when Authentication:Jwt is set.")]
    public bool AllowAnonymous { get; set; }

    /// <summary>Bearer tokens.</summary>
    public JwtSettings Jwt { get; set; } = new();

    /// <summary>Whether tokens are required: a signing key or an authority is set.</summary>
    public bool JwtConfigured => ServerSettings.Given(Jwt.SigningKey) is not null || ServerSettings.Given(Jwt.Authority) is not null;
}
