using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// The routes a connection joined with, in one canonical order, and a short key naming that set. A position notice
/// lists them in this order with the key, so a client can pass back only its sequence numbers, in the same order, and
/// the key: the server puts them back on the routes if the connection still has the same ones.
/// </summary>
internal static class RouteSet
{
    /// <summary>The characters of a key: 9 bytes of the hash in URL-safe base64.</summary>
    public const int KeyLength = 12;

    private const int KeyBytes = KeyLength / 4 * 3;

    /// <summary>The routes of one audience, ordered by channel and then audience.</summary>
    public static Route[] Ordered(IEnumerable<Route> routes) =>
        [.. routes
            .Where(route => route.Audience is not null)
            .Order(Comparer<Route>.Create(static (a, b) =>
                string.CompareOrdinal(a.Channel, b.Channel) is var byChannel and not 0 ? byChannel : string.CompareOrdinal(a.Audience, b.Audience)))];

    /// <summary>12 URL-safe characters naming <paramref name="ordered"/>; lengths are hashed too, so no two sets share a text.</summary>
    public static string Key(IReadOnlyList<Route> ordered)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[sizeof(int)];
        foreach (var route in ordered)
        {
            foreach (var text in (ReadOnlySpan<string>)[route.Channel, route.Audience!])
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
                hash.AppendData(length);
                hash.AppendData(bytes);
            }
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(digest);
        return Base64Url.EncodeToString(digest[..KeyBytes]);
    }
}
