using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>HS256 JWTs for a server started with <c>Settings.Server(…, signingKey)</c>, made by hand: header, claims, HMAC.</summary>
internal static class TestTokens
{
    /// <summary>The claim the server takes a connection's audiences from.</summary>
    public const string TenantClaim = "tenant";

    /// <summary>64 characters, so 64 bytes: HS256 needs at least 32.</summary>
    public static string NewSigningKey() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// A token whose connection is in <paramref name="audience"/>. Its <c>exp</c> is in whole seconds, so it lives between
    /// <paramref name="lifetime"/> less a second and <paramref name="lifetime"/>.
    /// </summary>
    public static string Mint(string signingKey, string audience, TimeSpan lifetime)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object> { ["sub"] = "browser-test", [TenantClaim] = audience, ["iat"] = now, ["exp"] = now + (long)lifetime.TotalSeconds };
        var unsigned = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        return unsigned + "." + Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingKey), Encoding.ASCII.GetBytes(unsigned)));
    }
}
