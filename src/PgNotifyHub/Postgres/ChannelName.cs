using System.Text;

namespace PgNotifyHub.Postgres;

/// <summary>The rule every channel name must follow, wherever it is given.</summary>
internal static class ChannelName
{
    // NAMEDATALEN - 1: PostgreSQL truncates longer identifiers, so LISTEN would silently listen elsewhere.
    public const int MaxBytes = 63;

    public static bool IsValid(string? channel)
    {
        var bytes = channel is null ? 0 : Encoding.UTF8.GetByteCount(channel);
        return bytes is > 0 and <= MaxBytes && !channel!.Contains('\0', StringComparison.Ordinal);
    }

    public static string Describe(string? channel) =>
        $"'{channel}', which is not a PostgreSQL channel name (1 to {MaxBytes} bytes, no NUL)";

    /// <summary>Quoted, so the name is used exactly as given: unquoted identifiers are folded to lower case.</summary>
    public static string Quote(string channel) => "\"" + channel.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
