using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PgNotifyHub.Client;

/// <summary>
/// One notification, as the server delivers it: what a <c>pg_notify(channel, 'audience,{json}')</c> or a
/// <c>pgnotifyhub.send(channel, audience, payload)</c> sent, with its place in the server's numbering.
/// </summary>
public sealed class PgNotifyHubMessage
{
    private const string RowsByReflection =
        "Rows are read with reflection-based serialization; under trimming or Native AOT pass a JsonTypeInfo<TRow> from a JsonSerializerContext.";

    /// <summary>Creates a message, e.g. to test an application's handler.</summary>
    /// <param name="channel">The PostgreSQL channel.</param>
    /// <param name="audience">The audience it was sent to.</param>
    /// <param name="id">The notification's id, the same for every recipient.</param>
    /// <param name="sequence">Its number within its channel and audience in <paramref name="stream"/>: 1, 2, 3…</param>
    /// <param name="stream">The server's numbering it belongs to.</param>
    /// <param name="payload">The JSON object that was sent.</param>
    /// <exception cref="ArgumentNullException">A string argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> holds no value (<c>default(JsonElement)</c>).</exception>
    public PgNotifyHubMessage(string channel, string audience, Guid id, long sequence, string stream, JsonElement payload)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(audience);
        ArgumentNullException.ThrowIfNull(stream);
        if (payload.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The payload must hold a JSON value.", nameof(payload));
        }

        Channel = channel;
        Audience = audience;
        Id = id;
        Sequence = sequence;
        Stream = stream;
        Payload = payload;
    }

    /// <summary>The PostgreSQL channel the notification was sent on.</summary>
    public string Channel { get; }

    /// <summary>The audience it was sent to, one of those the server gave this connection.</summary>
    public string Audience { get; }

    /// <summary>The notification's random id, the same for every recipient of it.</summary>
    public Guid Id { get; }

    /// <summary>
    /// Its number within its <see cref="Channel"/> and <see cref="Audience"/> in <see cref="Stream"/>: 1, 2, 3… without
    /// gaps while the server's listener stays connected. The client passes on each number once, in order.
    /// </summary>
    public long Sequence { get; }

    /// <summary>
    /// The server's numbering the <see cref="Sequence"/> belongs to. It changes when the server restarts or its listener
    /// reconnects to PostgreSQL, and the client raises <see cref="PgNotifyHubClient.Resync"/> before the first message
    /// of a new one.
    /// </summary>
    public string Stream { get; }

    /// <summary>
    /// The JSON object that was sent, as it was sent (<see cref="JsonElement.GetRawText"/> gives its exact text), at any
    /// depth. It stays valid after the handler returns.
    /// </summary>
    public JsonElement Payload { get; }

    /// <summary>
    /// Deserializes <see cref="Payload"/> into <typeparamref name="T"/> with <see cref="JsonSerializerOptions.Web"/>:
    /// camelCase names, matched case-insensitively. Those options refuse payloads deeper than 64 levels: pass options with
    /// a larger <see cref="JsonSerializerOptions.MaxDepth"/>, or read <see cref="Payload"/> itself.
    /// </summary>
    /// <typeparam name="T">The type of this channel's payloads.</typeparam>
    /// <returns>The payload as <typeparamref name="T"/>.</returns>
    /// <exception cref="JsonException">The payload does not fit <typeparamref name="T"/>, or is deeper than 64 levels.</exception>
    public T? Deserialize<T>() => Payload.Deserialize<T>(JsonSerializerOptions.Web);

    /// <summary>Deserializes <see cref="Payload"/> into <typeparamref name="T"/> with the given options.</summary>
    /// <typeparam name="T">The type of this channel's payloads.</typeparam>
    /// <param name="options">The serializer options; <see langword="null"/> for the serializer's defaults.</param>
    /// <returns>The payload as <typeparamref name="T"/>.</returns>
    /// <exception cref="JsonException">The payload does not fit <typeparamref name="T"/>, or is deeper than the options allow.</exception>
    public T? Deserialize<T>(JsonSerializerOptions? options) => Payload.Deserialize<T>(options);

    /// <summary>Deserializes <see cref="Payload"/> with source-generated metadata, which needs no reflection.</summary>
    /// <typeparam name="T">The type of this channel's payloads.</typeparam>
    /// <param name="jsonTypeInfo">The metadata of <typeparamref name="T"/>, from a <c>JsonSerializerContext</c>.</param>
    /// <returns>The payload as <typeparamref name="T"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="jsonTypeInfo"/> is <see langword="null"/>.</exception>
    /// <exception cref="JsonException">The payload does not fit <typeparamref name="T"/>, or is deeper than the metadata's options allow.</exception>
    public T? Deserialize<T>(JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return Payload.Deserialize(jsonTypeInfo);
    }

    /// <summary>
    /// Reads <see cref="Payload"/> as a message of a row-change feed (<c>pgnotifyhub.publish_changes</c>) of
    /// <paramref name="table"/>, each row into <typeparamref name="TRow"/> by its snake_case column names (<c>tenant_id</c>
    /// fills <c>TenantId</c>), matched case-insensitively. Numbers are read from their exact text, so <c>numeric</c>
    /// <c>19.90</c> is the <see cref="decimal"/> 19.90.
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
    /// Reads <see cref="Payload"/> as a message of a row-change feed of <paramref name="table"/>, each row into
    /// <typeparamref name="TRow"/> with the given options.
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
        PgRowChange<TRow>.TryRead(Payload, table, row => row.Deserialize<TRow>(options), out changes);

    /// <summary>
    /// Reads <see cref="Payload"/> as a message of a row-change feed of <paramref name="table"/>, each row with
    /// source-generated metadata, which needs no reflection.
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
        return PgRowChange<TRow>.TryRead(Payload, table, row => row.Deserialize(jsonTypeInfo), out changes);
    }

    /// <summary>The channel, audience, stream, sequence number and id, for logs; never the payload.</summary>
    /// <returns>For example <c>orders/acme #42 in 9f3c0a1b2c3d4e5f (0b6f8a55-…)</c>.</returns>
    public override string ToString() => $"{Channel}/{Audience} #{Sequence} in {Stream} ({Id})";
}
