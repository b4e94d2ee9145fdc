using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PgNotifyHub;

/// <summary>
/// One parsed and numbered NOTIFY, as every recipient gets it: sockets, hub connections and in-process subscriptions
/// share it, and its <see cref="Id"/>. Immutable: its bytes are written once, when it is received, and never copied or
/// re-serialised per recipient.
/// </summary>
public sealed class PgNotification
{
    private const string RowsByReflection =
        "Rows are read with reflection-based serialization; under trimming or Native AOT pass a JsonTypeInfo<TRow> from a JsonSerializerContext.";

    // The parser accepted the payload at any depth, as PostgreSQL does.
    private static readonly JsonDocumentOptions AnyDepth = new() { MaxDepth = int.MaxValue };

    internal PgNotification(string channel, string audience, Guid id, ReadOnlyMemory<byte> envelope, ReadOnlyMemory<byte> payload, long sequence, string stream)
    {
        Channel = channel;
        Audience = audience;
        Id = id;
        Envelope = envelope;
        Payload = payload;
        Sequence = sequence;
        Stream = stream;
    }

    /// <summary>The PostgreSQL channel the notification was sent on, exactly as named in <c>pg_notify</c>.</summary>
    public string Channel { get; }

    /// <summary>The audience: the text before the first comma of the NOTIFY payload.</summary>
    public string Audience { get; }

    /// <summary>The id given to the notification when it was received; the same for every recipient.</summary>
    public Guid Id { get; }

    /// <summary>
    /// The JSON object exactly as it arrived in the NOTIFY payload, as UTF-8 (already validated). Deserialise
    /// it with <c>JsonSerializer.Deserialize&lt;T&gt;(notification.Payload.Span)</c>.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>
    /// The pgws envelope, <c>{"payload":…,"channel":…,"id":…}</c>, as UTF-8: what a pgws page receives from the raw
    /// endpoint.
    /// </summary>
    public ReadOnlyMemory<byte> Envelope { get; }

    /// <summary>
    /// The notification's number among those of its channel and audience: 1, 2, 3… with no gap while the listener
    /// stays connected to PostgreSQL. Numbers restart in each <see cref="Stream"/>. A channel and audience that was
    /// forgotten to stay within <see cref="PgNotifyHubOptions.ReplayBufferMaxBytes"/> numbers on from past every number
    /// it could have had, so its numbers never repeat within a stream.
    /// </summary>
    public long Sequence { get; }

    /// <summary>
    /// The stream the <see cref="Sequence"/> belongs to: a new one begins when the process starts and each time the
    /// listener reconnects, since notifications sent meanwhile may have been lost.
    /// </summary>
    public string Stream { get; }

    /// <summary>
    /// Reads the payload as a message of a row-change feed (<c>pgnotifyhub.publish_changes</c>) of
    /// <paramref name="table"/>, each row into <typeparamref name="TRow"/> by its snake_case column names (<c>tenant_id</c>
    /// fills <c>TenantId</c>), matched case-insensitively. Numbers are read from their exact text, so <c>numeric</c>
    /// <c>19.90</c> is the <see cref="decimal"/> 19.90. The payload is parsed on every call.
    /// </summary>
    /// <typeparam name="TRow">The type of the table's rows.</typeparam>
    /// <param name="table">
    /// <c>schema.table</c>, or the table's name alone for the schema <c>public</c>, as PostgreSQL stores the names
    /// (unquoted names are lower case), e.g. <c>orders</c> or <c>sales.orders</c>.
    /// </param>
    /// <param name="changes">The message's changes, in its order; empty when this returns <see langword="false"/>.</param>
    /// <returns>
    /// <see langword="false"/> when the payload is not a row-change message of <paramref name="table"/>: another table's,
    /// or a message of another kind.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="table"/> is <see langword="null"/> or empty.</exception>
    /// <exception cref="JsonException">
    /// A row does not fit <typeparamref name="TRow"/> or is deeper than 64 levels, or a change has an <c>op</c> this version
    /// does not know.
    /// </exception>
    [RequiresUnreferencedCode(RowsByReflection)]
    [RequiresDynamicCode(RowsByReflection)]
    public bool TryGetRowChanges<TRow>(string table, out IReadOnlyList<PgRowChange<TRow>> changes) =>
        TryGetRowChanges(table, PgRowChange<TRow>.DefaultSerializerOptions, out changes);

    /// <summary>
    /// Reads the payload as a message of a row-change feed of <paramref name="table"/>, each row into
    /// <typeparamref name="TRow"/> with the given options. The payload is parsed on every call.
    /// </summary>
    /// <typeparam name="TRow">The type of the table's rows.</typeparam>
    /// <param name="table"><c>schema.table</c>, or the table's name alone for the schema <c>public</c>.</param>
    /// <param name="options">The serializer options for the rows; <see langword="null"/> for the serializer's defaults.</param>
    /// <param name="changes">The message's changes, in its order; empty when this returns <see langword="false"/>.</param>
    /// <returns><see langword="false"/> when the payload is not a row-change message of <paramref name="table"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="table"/> is <see langword="null"/> or empty.</exception>
    /// <exception cref="JsonException">A row does not fit <typeparamref name="TRow"/>, or a change has an <c>op</c> this version does not know.</exception>
    [RequiresUnreferencedCode(RowsByReflection)]
    [RequiresDynamicCode(RowsByReflection)]
    public bool TryGetRowChanges<TRow>(string table, JsonSerializerOptions? options, out IReadOnlyList<PgRowChange<TRow>> changes) =>
        PgRowChange<TRow>.TryRead(JsonElement.Parse(Payload.Span, AnyDepth), table, row => row.Deserialize<TRow>(options), out changes);

    /// <summary>
    /// Reads the payload as a message of a row-change feed of <paramref name="table"/>, each row with source-generated
    /// metadata, which needs no reflection. The payload is parsed on every call.
    /// </summary>
    /// <typeparam name="TRow">The type of the table's rows.</typeparam>
    /// <param name="table"><c>schema.table</c>, or the table's name alone for the schema <c>public</c>.</param>
    /// <param name="jsonTypeInfo">The metadata of <typeparamref name="TRow"/>, from a <c>JsonSerializerContext</c>.</param>
    /// <param name="changes">The message's changes, in its order; empty when this returns <see langword="false"/>.</param>
    /// <returns><see langword="false"/> when the payload is not a row-change message of <paramref name="table"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="table"/> is <see langword="null"/> or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="jsonTypeInfo"/> is <see langword="null"/>.</exception>
    /// <exception cref="JsonException">A row does not fit <typeparamref name="TRow"/>, or a change has an <c>op</c> this version does not know.</exception>
    public bool TryGetRowChanges<TRow>(string table, JsonTypeInfo<TRow> jsonTypeInfo, out IReadOnlyList<PgRowChange<TRow>> changes)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return PgRowChange<TRow>.TryRead(JsonElement.Parse(Payload.Span, AnyDepth), table, row => row.Deserialize(jsonTypeInfo), out changes);
    }

    /// <summary>Returns the envelope as text.</summary>
    /// <returns>The JSON of <see cref="Envelope"/>.</returns>
    public override string ToString() => Encoding.UTF8.GetString(Envelope.Span);
}
