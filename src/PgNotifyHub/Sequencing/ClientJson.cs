using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// How JSON that a client writes is read, wherever it comes from (a <c>resume</c> parameter, a topic request): repeated
/// keys refused, no more depth than the shape it stands for, and strings only when they are valid UTF-16.
/// </summary>
internal static class ClientJson
{
    /// <summary>Options that refuse repeated keys and anything deeper than <paramref name="maxDepth"/>, while it is read.</summary>
    public static JsonDocumentOptions Options(int maxDepth) => new() { MaxDepth = maxDepth, AllowDuplicateProperties = false };

    /// <summary>
    /// The string <paramref name="name"/> of <paramref name="element"/>; false when it is missing, another JSON type, or
    /// not valid UTF-16: JSON lets <c>"\ud800"</c> escape half a surrogate pair, which no .NET string can hold.
    /// </summary>
    public static bool TryGetText(JsonElement element, string name, [NotNullWhen(true)] out string? text)
    {
        text = null;
        return element.TryGetProperty(name, out var value) && TryGetText(value, out text);
    }

    /// <summary>The string <paramref name="value"/> holds; false for another JSON type, or one that is not valid UTF-16.</summary>
    public static bool TryGetText(JsonElement value, [NotNullWhen(true)] out string? text)
    {
        text = null;
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        try
        {
            text = value.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
