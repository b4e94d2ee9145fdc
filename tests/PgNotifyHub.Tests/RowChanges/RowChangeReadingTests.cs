using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using PgNotifyHub.Client;
using ClientRowChanges = System.Collections.Generic.IReadOnlyList<PgNotifyHub.Client.PgRowChange<PgNotifyHub.Tests.RowChanges.OrderRow>>;
using LibraryRowChanges = System.Collections.Generic.IReadOnlyList<PgNotifyHub.PgRowChange<PgNotifyHub.Tests.RowChanges.OrderRow>>;

namespace PgNotifyHub.Tests.RowChanges;

/// <summary>
/// Typed reading of row-change messages, as <c>pgnotifyhub.publish_changes</c> writes them, from an in-process
/// <see cref="PgNotification"/> and from the client package's <see cref="PgNotifyHubMessage"/>: the same code in both.
/// </summary>
public sealed class RowChangeReadingTests
{
    private const string Orders = """
        {"schema":"public","table":"orders","at":"2026-12-03T10:15:02.123456+00:00","changes":[
          {"op":"insert","key":{"id":7},"new":{"id":7,"tenant_id":3,"status":"new","total":19.90,"ratio":"Infinity"}},
          {"op":"update","key":{"id":5},"new":{"id":5,"tenant_id":3,"status":"paid","total":5.00,"ratio":0.5},"old":{"status":"new"}},
          {"op":"delete","key":{"id":2},"old":{"id":2,"tenant_id":3,"status":"void","total":0.00,"ratio":null}},
          {"op":"insert","key":{"id":8},"too_large":true},
          {"op":"truncate"}
        ]}
        """;

    public static TheoryData<Package> Packages => [Package.Library, Package.Client];

    [Theory]
    [MemberData(nameof(Packages))]
    public void Each_change_is_read_in_order_with_its_table_time_key_typed_new_row_and_old_values(Package package)
    {
        Assert.True(TryRead(package, Orders, "orders", Overload.Default, out var changes));

        Assert.Equal(["Insert 7", "Update 5", "Delete 2", "Insert 8", "Truncate "], changes.Select(change => change.Operation + " " + change.Key));
        Assert.All(changes, change => Assert.Equal(("public", "orders"), (change.Schema, change.Table)));
        Assert.All(changes, change => Assert.Equal(new DateTimeOffset(2026, 12, 3, 10, 15, 2, TimeSpan.Zero).AddTicks(1_234_560), change.At));
        Assert.Equal(new OrderRow(7, 3, "new", 19.90m, double.PositiveInfinity), changes[0].New);
        Assert.Equal(new OrderRow(5, 3, "paid", 5.00m, 0.5), changes[1].New);
        Assert.Equal(["19.90", "5.00"], changes.Take(2).Select(change => change.New!.Total.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal([null, """{"status":"new"}""", """{"id":2,"tenant_id":3,"status":"void","total":0.00,"ratio":null}""", null, null], changes.Select(change => change.Old));
        Assert.All(changes.Skip(2), change => Assert.Null(change.New));
        Assert.Equal([false, false, false, true, false], changes.Select(change => change.IsTooLarge));
    }

    [Theory]
    [InlineData("public", "orders", "orders", true)]
    [InlineData("public", "orders", "public.orders", true)]
    [InlineData("sales", "orders", "sales.orders", true)]
    [InlineData("sales", "orders", "orders", false)]
    [InlineData("public", "orders", "Orders", false)]
    [InlineData("public", "orders", "order", false)]
    [InlineData("public", "orders", "sales.orders", false)]
    [InlineData("Sales Dept", "Order \"Items\"", "Sales Dept.Order \"Items\"", true)]
    [InlineData("a.b", "c", "a.b.c", true)]
    [InlineData("a.b", "c", "a.bc", false)]
    public void A_table_is_named_schema_dot_name_or_by_its_name_alone_in_the_schema_public(string schema, string table, string name, bool matches)
    {
        var payload = JsonSerializer.Serialize(new { schema, table, at = "2026-12-03T10:15:02+01:00", changes = new[] { new { op = "truncate" } } });

        foreach (var package in Packages)
        {
            Assert.Equal(matches, TryRead(package.Data, payload, name, Overload.Default, out var changes));
            Assert.Equal(matches ? 1 : 0, changes.Count);
        }
    }

    [Theory]
    [InlineData("""{"order":42}""")]
    [InlineData("""{"marker":"m1"}""")]
    [InlineData("""{"schema":"public","table":"orders","at":"2026-12-03T10:15:02+00:00"}""")]
    [InlineData("""{"schema":"public","table":"orders","at":"yesterday","changes":[]}""")]
    [InlineData("""{"schema":"public","table":"orders","at":1764756902,"changes":[]}""")]
    [InlineData("""{"schema":"public","table":"orders","at":"2026-12-03T10:15:02+00:00","changes":{}}""")]
    [InlineData("""{"schema":null,"table":"orders","at":"2026-12-03T10:15:02+00:00","changes":[]}""")]
    [InlineData("""{"schema":"public","table":["orders"],"at":"2026-12-03T10:15:02+00:00","changes":[]}""")]
    public void A_payload_that_is_not_a_row_change_message_reads_as_false_with_no_changes(string payload)
    {
        foreach (var package in Packages)
        {
            Assert.False(TryRead(package.Data, payload, "orders", Overload.Default, out var changes));
            Assert.Empty(changes);
        }
    }

    [Fact]
    public void A_client_message_whose_payload_is_not_an_object_reads_as_false()
    {
        var message = new PgNotifyHubMessage("c", "a", Guid.NewGuid(), 1, "s", JsonElement.Parse("[1,2]"));

        Assert.False(message.TryGetRowChanges<OrderRow>("orders", out var changes));
        Assert.Empty(changes);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void An_empty_change_list_reads_as_true_with_no_changes(Package package)
    {
        Assert.True(TryRead(package, """{"schema":"public","table":"orders","at":"2026-12-03T10:15:02+00:00","changes":[]}""", "orders", Overload.Default, out var changes));
        Assert.Empty(changes);
    }

    [Theory]
    [InlineData("""{"op":"upsert","key":{"id":1}}""", "the op \"upsert\"")]
    [InlineData("""{"key":{"id":1}}""", "is not an object with an \"op\"")]
    [InlineData("""["insert"]""", "is not an object with an \"op\"")]
    [InlineData("""{"op":"insert","key":{"id":1},"new":{"id":"one"}}""", "$.id")]
    [InlineData("""{"op":"insert","key":{"id":1},"new":{"id":1,"total":"NaN"}}""", "$.total")]
    public void A_change_with_an_unknown_op_or_a_row_that_does_not_fit_throws_a_JsonException_that_says_where(string change, string problem)
    {
        var payload = """{"schema":"sales","table":"orders","at":"2026-12-03T10:15:02+00:00","changes":[""" + change + "]}";

        foreach (var package in Packages)
        {
            var error = Assert.Throws<JsonException>(() => TryRead(package.Data, payload, "sales.orders", Overload.Default, out _));
            Assert.Contains(problem, error.Message + " " + error.Path, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void Rows_are_read_with_source_generated_metadata_or_with_the_options_given(Package package)
    {
        Assert.True(TryRead(package, Orders, "orders", Overload.TypeInfo, out var generated));
        Assert.Equal(new OrderRow(7, 3, "new", 19.90m, double.PositiveInfinity), generated[0].New);

        // The web defaults spell tenant_id as tenantId, so it stays unread: the options given are the ones used.
        Assert.True(TryRead(package, Orders, "orders", Overload.WebOptions, out var web));
        Assert.Equal(new OrderRow(5, 0, "paid", 5.00m, 0.5), web[1].New);
    }

    [Fact]
    public void A_missing_table_or_metadata_is_refused_naming_the_argument()
    {
        var notification = Notification(Orders);
        var message = Message(Orders);

        Assert.Equal("table", Assert.Throws<ArgumentNullException>(() => notification.TryGetRowChanges<OrderRow>(null!, out _)).ParamName);
        Assert.Equal("table", Assert.Throws<ArgumentException>(() => message.TryGetRowChanges<OrderRow>("", out _)).ParamName);
        Assert.Equal("jsonTypeInfo", Assert.Throws<ArgumentNullException>(() => notification.TryGetRowChanges<OrderRow>("orders", (JsonTypeInfo<OrderRow>)null!, out _)).ParamName);
        Assert.Equal("jsonTypeInfo", Assert.Throws<ArgumentNullException>(() => message.TryGetRowChanges<OrderRow>("orders", (JsonTypeInfo<OrderRow>)null!, out _)).ParamName);
    }

    public enum Package
    {
        Library,
        Client,
    }

    public enum Overload
    {
        Default,
        WebOptions,
        TypeInfo,
    }

    private static PgNotification Notification(string payload) =>
        new("c", "a", Guid.NewGuid(), default, Encoding.UTF8.GetBytes(payload), 1, "s");

    private static PgNotifyHubMessage Message(string payload) => new("c", "a", Guid.NewGuid(), 1, "s", JsonElement.Parse(payload));

    /// <summary>Reads through the package's own method, and gives each change as the same plain record.</summary>
    private static bool TryRead(Package package, string payload, string table, Overload overload, out IReadOnlyList<Change> changes)
    {
        bool read;
        if (package == Package.Library)
        {
            var notification = Notification(payload);
            LibraryRowChanges typed;
            read = overload switch
            {
                Overload.Default => notification.TryGetRowChanges(table, out typed),
                Overload.WebOptions => notification.TryGetRowChanges(table, JsonSerializerOptions.Web, out typed),
                _ => notification.TryGetRowChanges(table, RowJsonContext.Default.OrderRow, out typed),
            };
            changes = [.. typed.Select(c => new Change(c.Operation.ToString(), c.Schema, c.Table, c.At, Raw(c.Key), c.New, c.Old is { } old ? Raw(old) : null, c.IsTooLarge))];
        }
        else
        {
            var message = Message(payload);
            ClientRowChanges typed;
            read = overload switch
            {
                Overload.Default => message.TryGetRowChanges(table, out typed),
                Overload.WebOptions => message.TryGetRowChanges(table, JsonSerializerOptions.Web, out typed),
                _ => message.TryGetRowChanges(table, RowJsonContext.Default.OrderRow, out typed),
            };
            changes = [.. typed.Select(c => new Change(c.Operation.ToString(), c.Schema, c.Table, c.At, Raw(c.Key), c.New, c.Old is { } old ? Raw(old) : null, c.IsTooLarge))];
        }

        return read;
    }

    // The key's values alone, for short expectations: {"id":7} is "7", a truncate's absent key "".
    private static string Raw(JsonElement element) =>
        element.ValueKind == JsonValueKind.Undefined ? ""
        : element.ValueKind == JsonValueKind.Object && element.EnumerateObject().Count() == 1 && element.TryGetProperty("id", out var id) ? id.GetRawText()
        : element.GetRawText();

    public sealed record Change(string Operation, string Schema, string Table, DateTimeOffset At, string Key, OrderRow? New, string? Old, bool IsTooLarge);
}

public sealed record OrderRow(long Id, int TenantId, string Status, decimal Total, double? Ratio);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(OrderRow))]
internal sealed partial class RowJsonContext : JsonSerializerContext;
