using System.Text.Json;
using System.Text.Json.Serialization;

// Compiled into the client package too, in its own namespace (see PgNotifyHub.Client.csproj): in-process
// notifications and the client's messages read row changes with this one code.
#if !PGNOTIFYHUB_CLIENT
namespace PgNotifyHub;
#else
namespace PgNotifyHub.Client;
#endif

/// <summary>
/// One change of a row-change feed (<c>pgnotifyhub.publish_changes</c>, docs/ROW-CHANGES.md): a row of a published
/// table inserted, updated or deleted, or the table truncated, with the table and the time of the statement.
/// </summary>
/// <typeparam name="TRow">The type the table's rows are read into.</typeparam>
public sealed class PgRowChange<TRow>
{
    private PgRowChange(PgRowChangeOperation operation, string schema, string table, DateTimeOffset at, JsonElement key, TRow? row, JsonElement? old, bool isTooLarge)
    {
        Operation = operation;
        Schema = schema;
        Table = table;
        At = at;
        Key = key;
        New = row;
        Old = old;
        IsTooLarge = isTooLarge;
    }

    /// <summary>
    /// PostgreSQL's column names are snake_case by convention, so <c>tenant_id</c> fills <c>TenantId</c>; matched
    /// case-insensitively. <c>NaN</c> and the infinities of floating-point columns arrive as strings, as
    /// <c>to_json</c> writes them.
    /// </summary>
    internal static JsonSerializerOptions DefaultSerializerOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>What the change did.</summary>
    public PgRowChangeOperation Operation { get; }

    /// <summary>The published table's schema, as PostgreSQL stores its name; for a partition, its partitioned table's.</summary>
    public string Schema { get; }

    /// <summary>The published table's name, as PostgreSQL stores it (its name when the statement ran); for a partition, its partitioned table's.</summary>
    public string Table { get; }

    /// <summary>When the statement's changes were sent, in the writing transaction (<c>clock_timestamp()</c>).</summary>
    public DateTimeOffset At { get; }

    /// <summary>
    /// The row's key columns (its primary key, or the <c>key</c> that <c>publish_changes</c> named), always sent even where
    /// other columns are not: the new row's for an insert or an update, the old row's for a delete. When an update changed
    /// the key, the previous key is this one with the values in <see cref="Old"/> laid over it. <c>default</c>
    /// (<see cref="JsonValueKind.Undefined"/>) for a truncate.
    /// </summary>
    public JsonElement Key { get; }

    /// <summary>
    /// The published columns of the new row, for an insert or an update; <c>default</c> for a delete, a truncate and a
    /// change that <see cref="IsTooLarge"/>. Numbers are read from their exact text: <c>numeric</c> <c>19.90</c> is the
    /// <see cref="decimal"/> 19.90.
    /// </summary>
    public TRow? New { get; }

    /// <summary>
    /// For an update, the previous values of the published and key columns that changed, and only those; for a delete,
    /// the published columns of the deleted row; <see langword="null"/> otherwise. A <see cref="JsonElement"/> rather than
    /// a <typeparamref name="TRow"/>, since an update's holds only some of the columns.
    /// </summary>
    public JsonElement? Old { get; }

    /// <summary>
    /// <see langword="true"/> when the change was larger than <c>pgnotifyhub.settings.max_payload_bytes</c>, so only its
    /// <see cref="Operation"/> and <see cref="Key"/> were sent: read the row from the database.
    /// </summary>
    public bool IsTooLarge { get; }

    /// <summary>
    /// Reads the changes of a row-change message of <paramref name="table"/>, in the message's order, each row with
    /// <paramref name="readRow"/>. Returns <see langword="false"/>, with no changes, for a payload that is not a row-change
    /// message or is one of another table.
    /// </summary>
    /// <param name="payload">The message's JSON object.</param>
    /// <param name="table"><c>schema.table</c>, or the table's name alone for the schema <c>public</c>.</param>
    /// <param name="readRow">Reads a row's columns into <typeparamref name="TRow"/>.</param>
    /// <param name="changes">The changes read; empty when this returns <see langword="false"/>.</param>
    /// <exception cref="JsonException">A change has an <c>op</c> this version does not know, or a row does not fit <typeparamref name="TRow"/>.</exception>
    internal static bool TryRead(JsonElement payload, string table, Func<JsonElement, TRow?> readRow, out IReadOnlyList<PgRowChange<TRow>> changes)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        changes = [];
        if (payload.ValueKind != JsonValueKind.Object
            || !TryGetString(payload, "schema", out var schema)
            || !TryGetString(payload, "table", out var name)
            || !TryGetString(payload, "at", out var sent) || !sent.TryGetDateTimeOffset(out var at)
            || !payload.TryGetProperty("changes", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var (schemaName, tableName) = (schema.GetString()!, name.GetString()!);
        if (!Names(table, schemaName, tableName))
        {
            return false;
        }

        var read = new PgRowChange<TRow>[items.GetArrayLength()];
        var index = 0;
        foreach (var item in items.EnumerateArray())
        {
            read[index++] = new PgRowChange<TRow>(
                ReadOperation(item, schemaName, tableName),
                schemaName,
                tableName,
                at,
                item.TryGetProperty("key", out var key) ? key : default,
                item.TryGetProperty("new", out var row) ? readRow(row) : default,
                item.TryGetProperty("old", out var old) ? old : null,
                item.TryGetProperty("too_large", out var tooLarge) && tooLarge.ValueKind == JsonValueKind.True);
        }

        changes = read;
        return true;
    }

    private static bool TryGetString(JsonElement payload, string property, out JsonElement value) =>
        payload.TryGetProperty(property, out value) && value.ValueKind == JsonValueKind.String;

    // "schema.table", or the name alone for the schema public, where PostgreSQL creates tables unless told otherwise.
    private static bool Names(string table, string schema, string name) =>
        (schema == "public" && table == name)
        || (table.Length == schema.Length + 1 + name.Length
            && table.StartsWith(schema, StringComparison.Ordinal)
            && table[schema.Length] == '.'
            && table.EndsWith(name, StringComparison.Ordinal));

    // An op this version does not know fails loudly: skipping it would leave the application's rows silently wrong.
    private static PgRowChangeOperation ReadOperation(JsonElement change, string schema, string table)
    {
        if (change.ValueKind != JsonValueKind.Object || !TryGetString(change, "op", out var op))
        {
            throw new JsonException($"A change of {schema}.{table} is not an object with an \"op\".");
        }

        return op.ValueEquals("insert"u8) ? PgRowChangeOperation.Insert
            : op.ValueEquals("update"u8) ? PgRowChangeOperation.Update
            : op.ValueEquals("delete"u8) ? PgRowChangeOperation.Delete
            : op.ValueEquals("truncate"u8) ? PgRowChangeOperation.Truncate
            : throw new JsonException($"A change of {schema}.{table} has the op {op.GetRawText()}; this version reads insert, update, delete and truncate.");
    }
}
