using System.Text;
using Microsoft.AspNetCore.Http;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// An audience resolver for tests whose audiences no header can carry (control characters, emoji, 7,900 bytes): the
/// <c>X-Audience</c> header holds <c>b64:</c> and the audience's UTF-8 in Base64. Plain values are read as
/// <see cref="Infrastructure.NotifyTestHost"/>'s resolver reads them, comma-separated.
/// </summary>
public static class EncodedAudience
{
    private const string Prefix = "b64:";

    public static string Header(string audience) => Prefix + Convert.ToBase64String(Encoding.UTF8.GetBytes(audience));

    public static ValueTask<IReadOnlyList<string>> Resolve(HttpContext context)
    {
        var header = context.Request.Headers[Infrastructure.NotifyTestHost.AudienceHeader].ToString();
        if (header.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return new([Encoding.UTF8.GetString(Convert.FromBase64String(header[Prefix.Length..]))]);
        }

        return new(header.Length == 0
            ? [PgNotifyHubOptions.DefaultAudience]
            : header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
