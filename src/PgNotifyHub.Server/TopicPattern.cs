using System.Security.Claims;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>
/// One of <c>Topics:Allow</c>: the audiences a connection may subscribe to, written as segments separated by
/// <c>:</c>. A segment is literal text, or <c>{claim}</c>, which matches a segment equal to one of the values of the
/// token's claim; a last segment <c>*</c> matches one or more segments more. Everything is compared ordinally, so case
/// counts; a claim's value is only ever compared, never read as a pattern.
/// </summary>
/// <remarks>
/// A placeholder is a whole segment, so two different claim values can never yield the same audience (<c>{a}{b}</c>
/// would give <c>xyz</c> for both <c>x</c>+<c>yz</c> and <c>xy</c>+<c>z</c>), and a value holding <c>:</c> can match
/// no segment, so it cannot reach into another tenant's audiences.
/// </remarks>
internal sealed class TopicPattern
{
    public const char Separator = ':';
    public const string Rest = "*";

    // What no literal segment may hold: the syntax, and what no audience can (NOTIFY's audience ends at the first comma).
    private static readonly char[] Reserved = ['{', '}', '*', ',', '\0'];

    // Each segment: the literal text, or the claim's name for a {claim}.
    private readonly (string Text, bool IsClaim)[] _segments;
    private readonly bool _endsWithRest;

    private TopicPattern(string text, (string Text, bool IsClaim)[] segments, bool endsWithRest)
    {
        Text = text;
        _segments = segments;
        _endsWithRest = endsWithRest;
    }

    /// <summary>The pattern as configured.</summary>
    public string Text { get; }

    /// <summary>Whether it names a claim, so that it can allow something only to a connection with a token.</summary>
    public bool UsesClaims => _segments.Any(segment => segment.IsClaim);

    /// <summary>Reads a pattern; <paramref name="key"/> is the setting it came from, for the message.</summary>
    /// <exception cref="InvalidSettingException">The pattern is empty, ambiguous or invalid; the message says why.</exception>
    public static TopicPattern Parse(string text, string key)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Invalid(key, text, "it is empty");
        }

        var parts = text.Split(Separator);
        var endsWithRest = parts[^1] == Rest;
        var fixedParts = endsWithRest ? parts[..^1] : parts;
        if (fixedParts.Length == 0)
        {
            throw Invalid(key, text, "it would allow every audience; begin it with a segment of its own, e.g. public:*");
        }

        var segments = new (string Text, bool IsClaim)[fixedParts.Length];
        for (var i = 0; i < fixedParts.Length; i++)
        {
            segments[i] = Segment(fixedParts[i], text, key);
        }

        return new TopicPattern(text, segments, endsWithRest);
    }

    /// <summary>Whether <paramref name="audience"/> is one this pattern allows the holder of <paramref name="user"/>.</summary>
    public bool Allows(string audience, ClaimsPrincipal user)
    {
        var rest = audience.AsSpan();
        foreach (var (text, isClaim) in _segments)
        {
            if (rest.IsEmpty)
            {
                return false;
            }

            var end = rest.IndexOf(Separator);
            var segment = end < 0 ? rest : rest[..end];
            if (isClaim ? !HasValue(user, text, segment) : !segment.SequenceEqual(text))
            {
                return false;
            }

            // Past the separator, so an audience that ends in one ("user:ada:") keeps an empty rest to be judged.
            rest = end < 0 ? [] : rest[(end + 1)..];
            if (end >= 0 && rest.IsEmpty)
            {
                return false;
            }
        }

        if (!_endsWithRest)
        {
            return rest.IsEmpty;
        }

        // One or more segments, none of them empty.
        return !rest.IsEmpty && rest[0] != Separator && rest[^1] != Separator && !rest.Contains("::", StringComparison.Ordinal);
    }

    private static bool HasValue(ClaimsPrincipal user, string claim, ReadOnlySpan<char> segment)
    {
        // Empty segments never match: a claim with an empty value allows nothing.
        if (segment.IsEmpty)
        {
            return false;
        }

        foreach (var found in user.FindAll(claim))
        {
            if (segment.SequenceEqual(found.Value))
            {
                return true;
            }
        }

        return false;
    }

    private static (string Text, bool IsClaim) Segment(string part, string text, string key)
    {
        if (part.Length == 0)
        {
            throw Invalid(key, text, "it has an empty segment; segments are separated by a single ':' and neither begins nor ends the pattern");
        }

        if (part.StartsWith('{') && part.EndsWith('}') && part.Length > 2 && part.AsSpan(1, part.Length - 2).IndexOfAny('{', '}') < 0)
        {
            return (part[1..^1], true);
        }

        if (part == "{}")
        {
            throw Invalid(key, text, "'{}' names no claim");
        }

        if (part.Contains(Rest, StringComparison.Ordinal))
        {
            throw Invalid(key, text, $"'*' may only be its last segment, alone (e.g. tenant:{{tenant}}:*), where it matches one or more segments; in '{part}' it would be ambiguous");
        }

        if (part.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw Invalid(key, text, $"a claim must be a whole segment, as in user:{{sub}}; '{part}' mixes it with text or leaves a brace unclosed, so two different claim values could give the same audience");
        }

        if (part.AsSpan().IndexOfAny(Reserved) >= 0)
        {
            throw Invalid(key, text, "no audience can hold a comma or NUL");
        }

        return (part, false);
    }

    private static InvalidSettingException Invalid(string key, string text, string reason) =>
        new($"{key} is '{text}', which is not a topic pattern: {reason}. Patterns are segments separated by ':', each literal text or a whole {{claim}}, and may end with ':*'.");
}
