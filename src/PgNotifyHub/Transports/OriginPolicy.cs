using Microsoft.AspNetCore.Http;

namespace PgNotifyHub.Transports;

/// <summary>
/// Who may connect from a browser: pages of the server's own origin, and those of
/// <see cref="PgNotifyHubOptions.AllowedOrigins"/>. Requests without an <c>Origin</c> header are not from a
/// browser page, which always sends one on WebSocket handshakes and cross-origin requests.
/// </summary>
internal static class OriginPolicy
{
    private const string AnyOrigin = "*";

    public static bool Allows(HttpContext context, IList<string> allowedOrigins, out string origin)
    {
        origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        var request = context.Request;
        if (origin.Equals(request.Scheme + "://" + request.Host.Value, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var allowed in allowedOrigins)
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
}
