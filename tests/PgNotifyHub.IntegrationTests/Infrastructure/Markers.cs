namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// Payloads for proving absence: send the message that must not arrive, then a marker; once the marker has
/// arrived, the other message (sent before it, on the same ordered path) can no longer arrive.
/// </summary>
public static class Markers
{
    public static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary><c>audience,{"marker":"id"}</c></summary>
    public static string Payload(string audience, string id) => audience + ",{\"marker\":\"" + id + "\"}";

    /// <summary><c>audience,{"msg":"id"}</c>, a uniquely identifiable message.</summary>
    public static string Message(string audience, string id) => audience + ",{\"msg\":\"" + id + "\"}";

    public static bool IsMarker(this Envelope envelope, string id) => envelope.PayloadString("marker") == id;

    public static bool IsMessage(this Envelope envelope, string id) => envelope.PayloadString("msg") == id;
}
