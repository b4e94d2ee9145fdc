using System.Text;

namespace PgNotifyHub.Testing;

/// <summary>Builds NOTIFY payloads of an exact size in UTF-8 bytes, with multi-byte characters and escapes.</summary>
internal static class LargePayload
{
    // 2-, 3- and 4-byte UTF-8 characters, JSON escapes and characters an HTML-safe encoder would escape.
    private const string Filler = "é€😀 <&> \\\"q\\\" \\u00e9 ";

    /// <summary>
    /// Returns <c>audience,{"id":"…","text":"…"}</c> whose UTF-8 encoding is exactly <paramref name="totalBytes"/> long.
    /// </summary>
    public static string Build(string audience, int totalBytes, string id = "large")
    {
        var prefix = audience + ",{\"id\":\"" + id + "\",\"text\":\"";
        const string suffix = "\"}";
        var fillerBytes = Encoding.UTF8.GetByteCount(Filler);
        var budget = totalBytes - Encoding.UTF8.GetByteCount(prefix) - Encoding.UTF8.GetByteCount(suffix);
        if (budget < fillerBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(totalBytes), "Too small for the filler.");
        }

        var text = new StringBuilder(prefix);
        for (var i = 0; i < budget / fillerBytes; i++)
        {
            text.Append(Filler);
        }

        text.Append('x', budget % fillerBytes).Append(suffix);
        var payload = text.ToString();
        if (Encoding.UTF8.GetByteCount(payload) != totalBytes)
        {
            throw new InvalidOperationException("LargePayload miscounted bytes.");
        }

        return payload;
    }
}
