using System.Net;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Transports;

/// <summary>
/// Who may connect from a browser: pages of the server's own origin, and those of
/// <see cref="PgNotifyHubOptions.AllowedOrigins"/>. Requests without an <c>Origin</c> header are not from a
/// browser page, which always sends one on WebSocket handshakes and cross-origin requests.
/// </summary>
/// <remarks>
/// A page is of the server's own origin only when its origin equals the request's scheme and <c>Host</c> and that
/// host is one of the server's own names. The <c>Host</c> alone proves nothing: a page of <c>attacker.example</c>,
/// whose name the attacker made resolve to this server (DNS rebinding), sends <c>Host</c> and <c>Origin</c> that
/// agree. The server's own names are those of <c>AllowedHosts</c> when it lists any; otherwise <c>localhost</c> and
/// IP addresses, which no attacker can make a page of another site use as its origin.
/// </remarks>
internal sealed class OriginPolicy(IOptions<PgNotifyHubOptions> options, IOptions<HostFilteringOptions> hostFiltering)
{
    private const string AnyOrigin = "*";
    private const string AnyHost = "*";
    private const string Localhost = "localhost";

    public bool Allows(HttpContext context, out string origin)
    {
        origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        var request = context.Request;
        if (IsOwnHost(request.Host.Host) && origin.Equals(request.Scheme + "://" + request.Host.Value, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var allowed in options.Value.AllowedOrigins)
        {
            if (allowed == AnyOrigin || origin.Equals(allowed.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An entry of <see cref="PgNotifyHubOptions.AllowedOrigins"/>: <c>*</c>, or scheme, host and optional port.</summary>
    public static bool IsValidEntry(string? entry) =>
        entry == AnyOrigin
        || (Uri.TryCreate(entry, UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https"
            && uri.PathAndQuery == "/"
            && string.IsNullOrEmpty(uri.Fragment)
            && string.IsNullOrEmpty(uri.UserInfo)
            && !entry.TrimEnd('/').EndsWith('?'));

    // AllowedHosts keeps the meaning the host filtering middleware gives it: exact names, or "*.example.com" for the
    // subdomains of example.com; "*" (the templates' default) lists none.
    private bool IsOwnHost(string host)
    {
        var allowedHosts = hostFiltering.Value.AllowedHosts;
        if (allowedHosts is { Count: > 0 } && !allowedHosts.Contains(AnyHost))
        {
            foreach (var allowed in allowedHosts)
            {
                if (host.Equals(allowed, StringComparison.OrdinalIgnoreCase)
                    || (allowed.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }

            return false;
        }

        return host.Equals(Localhost, StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(host.Trim('[', ']'), out _);
    }
}
