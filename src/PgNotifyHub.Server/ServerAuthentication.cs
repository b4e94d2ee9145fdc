using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>
/// Who may connect, from settings only. With <c>Authentication:Jwt</c> the hub and the raw endpoint require a bearer
/// token signed with <c>SigningKey</c> (HS256) or by a key that <c>Authority</c> publishes (OpenID Connect discovery
/// and JWKS). Without it the server refuses to start, unless <c>Authentication:AllowAnonymous</c> is true: a server
/// that forwards every tenant's notifications must never be left open by omission.
/// </summary>
internal static partial class ServerAuthentication
{
    private const string AccessTokenParameter = "access_token";

    // HS256 keys shorter than the hash are rejected by RFC 7518 (3.2), and guessable besides.
    private const int MinimumSigningKeyBytes = 32;

    /// <summary>Registers JWT bearer authentication as configured, and authorization.</summary>
    /// <exception cref="InvalidSettingException">The settings are missing, contradictory or too weak; the message names them.</exception>
    public static void AddServerAuthentication(this WebApplicationBuilder builder, AuthenticationSettings settings, AudiencesSettings audiences)
    {
        builder.Services.AddAuthorization();
        if (!settings.JwtConfigured)
        {
            CheckAnonymousAccessIsAllowed(settings, audiences);
            // No scheme, but the services the authentication middleware needs, so the pipeline is the same either way.
            builder.Services.AddAuthentication();
            return;
        }

        var jwt = settings.Jwt;
        var validation = TokenValidation(jwt);
        var authority = ServerSettings.Given(jwt.Authority);
        var metadataAddress = ServerSettings.Given(jwt.MetadataAddress);
        if (authority is not null)
        {
            CheckAddress("Authority", authority, jwt.RequireHttpsMetadata);
            if (metadataAddress is not null)
            {
                CheckAddress("MetadataAddress", metadataAddress, jwt.RequireHttpsMetadata);
            }
        }

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.Authority = authority;
            if (metadataAddress is not null)
            {
                options.MetadataAddress = metadataAddress;
            }

            options.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
            // Claims keep the names they have in the token, so Audiences:Claim is written as the token spells it.
            options.MapInboundClaims = false;
            options.TokenValidationParameters = validation;
            options.Events = new JwtBearerEvents { OnMessageReceived = ReadTokenFromQueryString };
        });
    }

    /// <summary>
    /// Adds the authentication and authorization middleware, after whatever the application put before them (CORS,
    /// so that preflight requests are answered without a token). Warns once when anyone may connect.
    /// </summary>
    public static void UseServerAuthentication(this WebApplication app, AuthenticationSettings settings)
    {
        if (!settings.JwtConfigured)
        {
            LogAnonymous(app.Logger);
        }

        app.UseAuthentication();
        app.UseAuthorization();
    }

    /// <summary>
    /// Requires a valid token on <paramref name="endpoint"/> when <c>Authentication:Jwt</c> is configured, and lets it
    /// come in the <c>access_token</c> query parameter too.
    /// </summary>
    public static TBuilder RequireServerAuthentication<TBuilder>(this TBuilder endpoint, AuthenticationSettings settings)
        where TBuilder : IEndpointConventionBuilder =>
        settings.JwtConfigured ? endpoint.RequireAuthorization().WithMetadata(AccessTokenInQueryString.Instance) : endpoint;

    /// <summary>
    /// Audiences from the values of the token's claim <c>Audiences:Claim</c>: one audience per claim, and a JSON array
    /// claim (<c>"tenant": ["a", "b"]</c>) is read as one claim per element. A token without it has no audience, so
    /// its connection is refused.
    /// </summary>
    public static PgNotifyHubAudienceResolver AudiencesFromClaim(AudiencesSettings audiences)
    {
        var claim = ServerSettings.Given(audiences.Claim)
            ?? throw new InvalidSettingException("Audiences:Claim must name the token's claim that holds the audiences when Audiences:Source is Claim, e.g. tenant.");
        return context => ValueTask.FromResult<IReadOnlyList<string>>([.. context.User.FindAll(claim).Select(found => found.Value)]);
    }

    private static void CheckAnonymousAccessIsAllowed(AuthenticationSettings settings, AudiencesSettings audiences)
    {
        if (audiences.Source == AudienceSource.Claim)
        {
            throw new InvalidSettingException(
                "Audiences:Source is Claim, but there are no claims without a token: configure Authentication:Jwt (SigningKey or Authority).");
        }

        if (!settings.AllowAnonymous)
        {
            throw new InvalidSettingException(
                "No authentication is configured, so anyone could connect and receive notifications. Set Authentication:Jwt:SigningKey "
                + "(a shared HS256 secret) or Authentication:Jwt:Authority (an OpenID Connect issuer), or set Authentication:AllowAnonymous=true "
                + "to accept every client, e.g. behind a proxy that authenticates them.");
        }
    }

    private static TokenValidationParameters TokenValidation(JwtSettings jwt)
    {
        var signingKey = ServerSettings.Given(jwt.SigningKey);
        var authority = ServerSettings.Given(jwt.Authority);
        if (signingKey is not null && authority is not null)
        {
            throw new InvalidSettingException("Authentication:Jwt sets both SigningKey and Authority; set one: a shared HS256 secret, or an OpenID Connect issuer whose keys are fetched.");
        }

        var issuer = ServerSettings.Given(jwt.Issuer);
        var audience = ServerSettings.Given(jwt.Audience);
        if (jwt.ClockSkew < TimeSpan.Zero)
        {
            throw new InvalidSettingException($"Authentication:Jwt:ClockSkew is {jwt.ClockSkew}; it must not be negative.");
        }

        var validation = new TokenValidationParameters
        {
            // With an authority, the issuer of its discovery document is always required; a shared key has no issuer
            // of its own, so one is checked only when configured.
            ValidateIssuer = issuer is not null || authority is not null,
            ValidIssuer = issuer,
            ValidateAudience = audience is not null,
            ValidAudience = audience,
            ClockSkew = jwt.ClockSkew,
        };
        if (signingKey is null)
        {
            // An identity provider signs tokens for every application it serves; without an audience, a token issued
            // for any of them would be accepted here.
            return audience is not null
                ? validation
                : throw new InvalidSettingException("Authentication:Jwt:Audience is required with Authority: without it, a token the authority issued for any other application would be accepted.");
        }

        var keyBytes = Encoding.UTF8.GetBytes(signingKey);
        if (keyBytes.Length < MinimumSigningKeyBytes)
        {
            throw new InvalidSettingException(
                $"Authentication:Jwt:SigningKey is {keyBytes.Length} bytes long; HS256 needs at least {MinimumSigningKeyBytes} bytes (256 bits). "
                + "Use a random secret, e.g. the output of `openssl rand -base64 48`.");
        }

        validation.IssuerSigningKey = new SymmetricSecurityKey(keyBytes);
        validation.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        return validation;
    }

    private static void CheckAddress(string key, string address, bool requireHttps)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw new InvalidSettingException($"Authentication:Jwt:{key} is '{address}'; it must be an absolute https URL.");
        }

        if (requireHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidSettingException(
                $"Authentication:Jwt:{key} is '{address}'; keys are fetched over https only, unless Authentication:Jwt:RequireHttpsMetadata is false (development only).");
        }
    }

    // Browsers cannot set headers on a WebSocket, so SignalR's JavaScript client and plain pages send the token in
    // the query string; only the endpoints that need it accept it there, and the header wins when both are sent.
    private static Task ReadTokenFromQueryString(MessageReceivedContext context)
    {
        var http = context.HttpContext;
        if (http.GetEndpoint()?.Metadata.GetMetadata<AccessTokenInQueryString>() is not null
            && string.IsNullOrEmpty(http.Request.Headers.Authorization)
            && http.Request.Query[AccessTokenParameter] is { Count: > 0 } token)
        {
            context.Token = token.ToString();
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(1001, LogLevel.Warning, "Authentication is off (Authentication:AllowAnonymous): any client that reaches this server may connect. Authenticate clients in front of it, or configure Authentication:Jwt.", EventName = "AnonymousAccess")]
    private static partial void LogAnonymous(ILogger logger);

    /// <summary>Marks the endpoints that accept a token in the query string.</summary>
    private sealed class AccessTokenInQueryString
    {
        public static readonly AccessTokenInQueryString Instance = new();
    }
}
