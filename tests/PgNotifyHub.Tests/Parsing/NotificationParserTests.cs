using System.Text;
using System.Text.Json;
using PgNotifyHub.Parsing;
using PgNotifyHub.Testing;

namespace PgNotifyHub.Tests.Parsing;

public sealed class NotificationParserTests
{
    private const string Channel = "orders";

    [Theory]
    [InlineData("""aud,{"a":1}""", "aud", """{"a":1}""")]
    [InlineData("""aud,{}""", "aud", """{}""")]
    [InlineData("""aud,{ "a" : 1 ,  "b":[1, 2] }""", "aud", """{ "a" : 1 ,  "b":[1, 2] }""")]
    [InlineData("aud, \t\r\n{\"a\":1} \t\r\n", "aud", """{"a":1}""")]
    [InlineData("""aud,{"a":{"b":{"c":[{"d":null},true,false]}}}""", "aud", """{"a":{"b":{"c":[{"d":null},true,false]}}}""")]
    [InlineData("""aud,{"z":1,"a":2,"m":3}""", "aud", """{"z":1,"a":2,"m":3}""")]
    [InlineData("""aud,{"a":1.0,"b":1e400,"c":12345678901234567890,"d":-0,"e":1E+2,"f":0.000001}""", "aud", """{"a":1.0,"b":1e400,"c":12345678901234567890,"d":-0,"e":1E+2,"f":0.000001}""")]
    [InlineData("""aud,{"s":"é€😀 漢字"}""", "aud", """{"s":"é€😀 漢字"}""")]
    [InlineData("""aud,{"s":"\u00e9\n\"\\\/\ud83d\ude00"}""", "aud", """{"s":"\u00e9\n\"\\\/\ud83d\ude00"}""")]
    [InlineData("""aud,{"html":"<b>&amp;</b>"}""", "aud", """{"html":"<b>&amp;</b>"}""")]
    [InlineData("""user:42,{"a":"x,y","b":2,"c":3}""", "user:42", """{"a":"x,y","b":2,"c":3}""")]
    [InlineData("""Ünïcödé audience,{"a":1}""", "Ünïcödé audience", """{"a":1}""")]
    [InlineData("""a,{"audience":"b,c","x":1}""", "a", """{"audience":"b,c","x":1}""")]
    public void Valid_payload_keeps_the_object_byte_for_byte(string payload, string audience, string json)
    {
        var parsed = NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var notification, out var error);

        Assert.True(parsed, error);
        Assert.Null(error);
        Assert.NotNull(notification);
        Assert.Equal(Channel, notification.Channel);
        Assert.Equal(audience, notification.Audience);
        Assert.Equal(Encoding.UTF8.GetBytes(json), notification.Payload.ToArray());
    }

    [Theory]
    [InlineData("no-comma-at-all")]
    [InlineData("""aud{"a":1}""")]
    [InlineData("""{"a":1}""")]
    [InlineData(",{\"a\":1}")]
    [InlineData("aud,")]
    [InlineData("aud, \t\r\n ")]
    [InlineData("""aud,{"a":}""")]
    [InlineData("""aud,{a:1}""")]
    [InlineData("""aud,{'a':1}""")]
    [InlineData("""aud,{"a":1""")]
    [InlineData("""aud,{"a":1,}""")]
    [InlineData("""aud,{"a":"unterminated}""")]
    [InlineData("""aud,/* comment */{"a":1}""")]
    [InlineData("""aud,[1,2]""")]
    [InlineData("""aud,[{"a":1}]""")]
    [InlineData("""aud,"text" """)]
    [InlineData("""aud,42""")]
    [InlineData("""aud,true""")]
    [InlineData("""aud,null""")]
    [InlineData("""aud,{"a":1}x""")]
    [InlineData("""aud,{"a":1} // comment""")]
    [InlineData("""aud,{"a":1}}""")]
    [InlineData("""aud,{"a":1},""")]
    [InlineData("""aud,{"a":1}{"b":2}""")]
    [InlineData("""aud,{"a":1} {"b":2}""")]
    [InlineData("aud,\u00a0{\"a\":1}")]
    public void Invalid_payload_is_rejected_with_a_reason(string payload)
    {
        var parsed = NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var notification, out var error);

        Assert.False(parsed);
        Assert.Null(notification);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData("no-comma", "comma")]
    [InlineData(",{\"a\":1}", "audience")]
    [InlineData("aud,  ", "JSON")]
    [InlineData("aud,[1]", "array")]
    [InlineData("aud,\"s\"", "string")]
    [InlineData("aud,1", "number")]
    [InlineData("aud,{\"a\":1} x", "after")]
    public void Rejection_reason_says_what_is_wrong(string payload, string expectedWord)
    {
        NotificationParser.TryParse(Channel, payload, timestampProperty: null, out _, out var error);

        Assert.Contains(expectedWord, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Rejection_reason_does_not_repeat_the_payload()
    {
        const string secret = "s3cr3t-value-7f2c";

        NotificationParser.TryParse(Channel, "aud,{\"token\":\"" + secret + "\"", timestampProperty: null, out _, out var unterminated);
        NotificationParser.TryParse(Channel, "aud,[\"" + secret + "\"]", timestampProperty: null, out _, out var array);
        NotificationParser.TryParse(Channel, "aud,{\"a\":1}\"" + secret + "\"", timestampProperty: null, out _, out var trailing);

        Assert.DoesNotContain(secret, unterminated, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, array, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, trailing, StringComparison.Ordinal);
    }

    [Fact]
    public void Envelope_is_payload_then_channel_then_id_with_no_added_whitespace()
    {
        const string json = """{ "b" : 2, "a":"<&>é" }""";

        Assert.True(NotificationParser.TryParse(Channel, "aud,  " + json + "  ", timestampProperty: null, out var notification, out var error), error);

        var expected = "{\"payload\":" + json + ",\"channel\":\"orders\",\"id\":\"" + notification.Id.ToString("D") + "\"}";
        Assert.Equal(Encoding.UTF8.GetBytes(expected), notification.Envelope.ToArray());
    }

    [Fact]
    public void Envelope_payload_is_the_same_bytes_as_notification_payload()
    {
        Assert.True(NotificationParser.TryParse(Channel, """aud,{"a":[1,2,3]}""", timestampProperty: null, out var notification, out var error), error);

        var envelope = notification.Envelope.Span;
        var prefix = """{"payload":"""u8;
        Assert.True(envelope.StartsWith(prefix));
        Assert.True(envelope[prefix.Length..].StartsWith(notification.Payload.Span));
    }

    [Fact]
    public void Envelope_is_valid_json_when_the_channel_needs_escaping()
    {
        const string channel = "Mixed \"Case\" \\ é€";

        Assert.True(NotificationParser.TryParse(channel, """aud,{"a":1}""", timestampProperty: null, out var notification, out var error), error);

        using var document = JsonDocument.Parse(notification.Envelope);
        Assert.Equal(["payload", "channel", "id"], document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(channel, document.RootElement.GetProperty("channel").GetString());
        Assert.Equal("""{"a":1}""", document.RootElement.GetProperty("payload").GetRawText());
    }

    [Fact]
    public void Id_is_a_lowercase_version_4_uuid_and_matches_the_envelope()
    {
        Assert.True(NotificationParser.TryParse(Channel, """aud,{"a":1}""", timestampProperty: null, out var notification, out var error), error);

        using var document = JsonDocument.Parse(notification.Envelope);
        var text = document.RootElement.GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", text);
        Assert.Equal(notification.Id, Guid.Parse(text));
    }

    [Fact]
    public void Each_notification_gets_its_own_id()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ =>
        {
            Assert.True(NotificationParser.TryParse(Channel, """aud,{"a":1}""", timestampProperty: null, out var notification, out var error), error);
            return notification.Id;
        });

        Assert.Equal(1000, ids.Distinct().Count());
    }

    [Fact]
    public void Largest_notify_payload_of_7999_utf8_bytes_is_kept_byte_for_byte()
    {
        var payload = LargePayload.Build("aud", 7_999);
        var json = payload["aud,".Length..];
        Assert.Equal(7_999, Encoding.UTF8.GetByteCount(payload));
        Assert.True(payload.Length < 7_999, "the payload must contain multi-byte characters");

        Assert.True(NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var notification, out var error), error);

        Assert.Equal(Encoding.UTF8.GetBytes(json), notification.Payload.ToArray());
        using var document = JsonDocument.Parse(notification.Envelope);
        Assert.Equal(json, document.RootElement.GetProperty("payload").GetRawText());
    }

    [Fact]
    public void Deeply_nested_object_is_accepted()
    {
        const int depth = 1_000;
        var json = "{\"a\":" + string.Concat(Enumerable.Repeat("[", depth)) + string.Concat(Enumerable.Repeat("]", depth)) + "}";

        Assert.True(NotificationParser.TryParse(Channel, "aud," + json, timestampProperty: null, out var notification, out var error), error);

        Assert.Equal(Encoding.UTF8.GetBytes(json), notification.Payload.ToArray());
    }

    [Theory]
    [InlineData("""aud,{"sent_at":"2026-11-28T01:02:03.5+00:00","a":1}""", "2026-11-28T01:02:03.5+00:00")]
    [InlineData("""aud,{"a":[1,{"sent_at":0}],"sent_at":"2026-11-28T02:02:03.123456+01:00"}""", "2026-11-28T01:02:03.123456+00:00")]
    [InlineData("""aud,{"sent_at":1795827723.25}""", "2026-11-28T01:02:03.25+00:00")]
    public void Timestamp_property_at_the_top_level_gives_the_sending_time_and_leaves_the_payload_intact(string payload, string expected)
    {
        Assert.True(NotificationParser.TryParse(Channel, payload, "sent_at"u8.ToArray(), out var notification, out var error), error);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), notification.SentAt);
        Assert.Equal(Encoding.UTF8.GetBytes(payload[4..]), notification.Payload.ToArray());
    }

    [Theory]
    [InlineData("""aud,{"inner":{"sent_at":"2026-11-28T01:02:03Z"}}""")]
    [InlineData("""aud,{"sent_at":"yesterday"}""")]
    [InlineData("""aud,{"sent_at":true}""")]
    [InlineData("""aud,{"sent_at":1e300}""")]
    [InlineData("""aud,{"Sent_At":"2026-11-28T01:02:03Z"}""")]
    public void Payload_without_a_usable_top_level_timestamp_is_valid_and_not_timed(string payload)
    {
        Assert.True(NotificationParser.TryParse(Channel, payload, "sent_at"u8.ToArray(), out var notification, out var error), error);

        Assert.Null(notification.SentAt);
    }

    [Theory]
    [InlineData("""aud,{"sent_at":"2026-11-28T01:02:03Z"}x""")]
    [InlineData("""aud,{"sent_at":"2026-11-28T01:02:03Z",}""")]
    [InlineData("aud,{\"sent_at\":\"2026-11-28T01:02:03Z\"")]
    [InlineData("""aud,{"a":[1,2}""")]
    public void Looking_for_the_timestamp_rejects_the_same_malformed_payloads(string payload)
    {
        Assert.False(NotificationParser.TryParse(Channel, payload, "sent_at"u8.ToArray(), out _, out var withTimestamp));
        Assert.False(NotificationParser.TryParse(Channel, payload, timestampProperty: null, out _, out var without));
        Assert.NotNull(withTimestamp);
        Assert.NotNull(without);
    }
}
