using System.Security.Cryptography;
using System.Text;
using PgNotifyHub.Postgres;

namespace PgNotifyHub.Backplane;

/// <summary>
/// One channel per hub: per-group or per-connection channels would make the single listener connection LISTEN and
/// UNLISTEN on every join and leave, and PostgreSQL would still read each NOTIFY once per listening node.
/// </summary>
internal static class BackplaneChannel
{
    private const int HashHexChars = 16;

    public const int MaxPrefixBytes = ChannelName.MaxBytes - HashHexChars;

    /// <summary>The prefix and a hash of the hub's full type name: type names can be longer than a channel name may be.</summary>
    public static string For(string prefix, Type hub)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(hub.FullName ?? hub.Name));
        return prefix + Convert.ToHexStringLower(hash)[..HashHexChars];
    }
}
