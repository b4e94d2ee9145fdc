using System.Globalization;
using System.Text;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The text of a backplane NOTIFY: frames, each its Base64 or, when too large for a payload, the id of its spilled row
/// after <see cref="SpilledMarker"/>, joined by <see cref="Separator"/> in the order they were published. Every NOTIFY
/// wakes every listening node's backend and listener, so a batch sends one per channel where it fits.
/// </summary>
internal static class BackplanePayload
{
    /// <summary>PostgreSQL refuses payloads of 8,000 bytes or more.</summary>
    public const int MaxBytes = 7999;

    /// <summary>The largest frame whose Base64 text, 4 ASCII characters per 3 bytes, fits a NOTIFY payload.</summary>
    public const int MaxInlineFrameBytes = MaxBytes / 4 * 3;

    /// <summary>Starts the id of a spilled frame; never a Base64 character.</summary>
    public const char SpilledMarker = '#';

    /// <summary>Separates the frames of one payload; never a Base64 character.</summary>
    public const char Separator = ' ';

    /// <summary>The frame's Base64, or null when it is too large and must spill.</summary>
    public static string? Inline(byte[] frame) => frame.Length <= MaxInlineFrameBytes ? Convert.ToBase64String(frame) : null;

    public static string Spilled(long id) => SpilledMarker + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Joins the frames, each (channel, text) and in order, into as few payloads per channel as fit in
    /// <see cref="MaxBytes"/>; frames of one channel keep their order across its payloads.
    /// </summary>
    public static (string[] Channels, string[] Payloads) Pack(IEnumerable<(string Channel, string Frame)> frames)
    {
        var channels = new List<string>();
        var payloads = new List<string>();
        var open = new List<(string Channel, StringBuilder Payload)>(1);
        foreach (var (channel, frame) in frames)
        {
            var index = open.FindIndex(pending => string.Equals(pending.Channel, channel, StringComparison.Ordinal));
            if (index < 0)
            {
                open.Add((channel, new StringBuilder(frame)));
                continue;
            }

            var payload = open[index].Payload;
            if (payload.Length + 1 + frame.Length > MaxBytes)
            {
                channels.Add(channel);
                payloads.Add(payload.ToString());
                payload.Clear().Append(frame);
            }
            else
            {
                payload.Append(Separator).Append(frame);
            }
        }

        foreach (var (channel, payload) in open)
        {
            channels.Add(channel);
            payloads.Add(payload.ToString());
        }

        return ([.. channels], [.. payloads]);
    }

    public static string[] Split(string payload) => payload.Split(Separator);

    /// <summary>The id of a spilled frame's row, or null when <paramref name="frame"/> is Base64.</summary>
    /// <exception cref="FormatException">After the marker comes no id.</exception>
    public static long? SpilledId(string frame) =>
        frame.StartsWith(SpilledMarker) ? long.Parse(frame.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture) : null;
}
