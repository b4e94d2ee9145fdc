using System.Globalization;
using System.Text;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// Seeded generators of what a client or a database user may send: text of every kind of character, JSON of every
/// type and shape, and the broken forms of both. The same seed gives the same inputs, so a failure can be replayed:
/// every test prints its seed, and <c>PGNOTIFYHUB_FUZZ_SEED</c> replaces it.
/// </summary>
public static class FuzzInput
{
    public const string SeedVariable = "PGNOTIFYHUB_FUZZ_SEED";

    // Characters that have broken parsers, encoders and splitters: JSON's and URLs' own punctuation, every class of
    // control character, the characters JavaScript treats as line ends, a BOM, 2-, 3- and 4-byte UTF-8.
    private static readonly string[] Pieces =
    [
        "a", "Z", "0", " ", ",", ";", "\"", "\\", "/", "{", "}", "[", "]", ":", "'", "<", ">", "&", "%", "+", "=", "?", "#",
        "\t", "\n", "\r", "\u0001", "\u001e", "\u001f", "\u007f", "\u0085", "\u00a0", "é", "ß", "€", "\u2028", "\u2029",
        "\ufeff", "\ufffd", "\uffff", "😀", "👩‍👩‍👧", "中文", "\u0301", "null", "true", "-0", "1e400", "%00", "%zz", "\\u0000",
    ];

    /// <summary>The seed to use: <see cref="SeedVariable"/> when it is set, otherwise <paramref name="fixedSeed"/>.</summary>
    public static int Seed(int fixedSeed)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var chosen) ? chosen : fixedSeed;
        TestContext.Current.TestOutputHelper?.WriteLine($"Fuzz seed {seed} (set {SeedVariable} to replay another).");
        return seed;
    }

    /// <summary>Text of 0 to <paramref name="maxPieces"/> pieces; no NUL and no lone surrogate, so PostgreSQL can hold it.</summary>
    public static string Text(Random random, int maxPieces)
    {
        var text = new StringBuilder();
        var count = random.Next(maxPieces + 1);
        for (var i = 0; i < count; i++)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return text.ToString();
    }

    /// <summary>Non-empty text without a comma: what PostgreSQL can carry as an audience.</summary>
    public static string Audience(Random random, int maxPieces = 6)
    {
        var audience = Text(random, maxPieces).Replace(",", "", StringComparison.Ordinal);
        return audience.Length == 0 ? "x" + random.Next(1000).ToString(CultureInfo.InvariantCulture) : audience;
    }

    /// <summary>A JSON string literal, with every character either as it is or escaped, lone surrogates among the escapes when asked.</summary>
    public static string JsonString(Random random, int maxPieces, bool loneSurrogates = false)
    {
        var text = new StringBuilder("\"");
        foreach (var c in Text(random, maxPieces))
        {
            text.Append(c switch
            {
                '"' => "\\\"",
                '\\' => random.Next(2) == 0 ? "\\\\" : "\\u005c",
                < ' ' => random.Next(2) == 0 ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) : c switch { '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", _ => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) },
                _ when random.Next(8) == 0 && !char.IsSurrogate(c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        if (random.Next(16) == 0)
        {
            // Valid JSON, and a NUL once decoded: jsonb refuses it, NOTIFY carries it as the six characters it is.
            text.Append("\\u0000");
        }

        if (loneSurrogates && random.Next(4) == 0)
        {
            text.Append(random.Next(2) == 0 ? "\\ud800" : "\\udfff\\ud83d");
        }

        return text.Append('"').ToString();
    }

    /// <summary>Any JSON value, nested up to <paramref name="depth"/>, with JSON's whitespace in random places.</summary>
    public static string JsonValue(Random random, int depth, bool loneSurrogates = false)
    {
        var kind = random.Next(depth > 0 ? 9 : 6);
        return kind switch
        {
            0 => "null",
            1 => random.Next(2) == 0 ? "true" : "false",
            2 => Number(random),
            3 or 4 or 5 => JsonString(random, 8, loneSurrogates),
            6 => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => Space(random) + JsonValue(random, depth - 1, loneSurrogates) + Space(random))) + "]",
            _ => JsonObject(random, depth - 1, loneSurrogates),
        };
    }

    /// <summary>A JSON object, possibly with repeated keys, nested up to <paramref name="depth"/>.</summary>
    public static string JsonObject(Random random, int depth, bool loneSurrogates = false)
    {
        var members = Enumerable.Range(0, random.Next(5)).Select(_ =>
            Space(random) + JsonString(random, 3, loneSurrogates) + Space(random) + ":" + Space(random) + JsonValue(random, Math.Max(depth, 0), loneSurrogates) + Space(random));
        return "{" + string.Join(",", members) + Space(random) + "}";
    }

    /// <summary>Numbers as JSON spells them, including ones no double or long holds.</summary>
    public static string Number(Random random) => random.Next(8) switch
    {
        0 => "0",
        1 => "-0",
        2 => random.Next().ToString(CultureInfo.InvariantCulture),
        3 => "-" + random.NextInt64().ToString(CultureInfo.InvariantCulture),
        4 => "123456789012345678901234567890",
        5 => "1e400",
        6 => "1.50",
        _ => "-2.5E-308",
    };

    /// <summary>JSON's own whitespace, often none.</summary>
    public static string Space(Random random) => random.Next(4) switch
    {
        0 => " ",
        1 => "\n\t ",
        2 => "\r\n",
        _ => "",
    };

    /// <summary>
    /// Text after an audience's comma that is not exactly one JSON object: each form is invalid by construction, so the
    /// expected outcome needs no parser to compute.
    /// </summary>
    public static string NotAnObject(Random random) => random.Next(12) switch
    {
        0 => "",
        1 => Space(random) + " ",
        2 => "[" + JsonValue(random, 1) + "]",
        3 => JsonString(random, 4),
        4 => Number(random),
        5 => random.Next(2) == 0 ? "null" : "true",
        6 => JsonObject(random, 1) + JsonObject(random, 1),
        7 => JsonObject(random, 1) + " x",
        8 => "{\"unterminated\":" + JsonString(random, 3),
        9 => "{'single':'quotes'}",
        10 => "{\"a\":1,}",
        _ => "\ufeff" + JsonObject(random, 1),
    };

    /// <summary>Shuffles in place.</summary>
    public static void Shuffle<T>(Random random, IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
