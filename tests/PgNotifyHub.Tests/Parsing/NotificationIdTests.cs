using PgNotifyHub.Parsing;

namespace PgNotifyHub.Tests.Parsing;

public sealed class NotificationIdTests
{
    [Fact]
    public void Ids_are_distinct_random_version_4_UUIDs_across_many_blocks()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => NotificationId.Next()).ToArray();

        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal((4, 0b10), (id.Version, id.Variant >> 2)));
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id.ToString()));
    }
}
