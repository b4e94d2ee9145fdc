using PgNotifyHub.Listening;

namespace PgNotifyHub.Tests.Listening;

public sealed class ListenedChannelsTests
{
    private readonly ListenedChannels _channels = new(Microsoft.Extensions.Options.Options.Create(new PgNotifyHubOptions { Channels = ["pgws", "audit"] }));

    [Fact]
    public void A_channel_stays_in_the_set_until_its_last_lease_is_released()
    {
        var first = _channels.Acquire(["orders"]);
        var second = _channels.Acquire(["orders", "chat"]);

        first.Dispose();
        first.Dispose();
        Assert.Equal(["chat", "orders"], _channels.Snapshot().Channels.Order());

        second.Dispose();
        Assert.Empty(_channels.Snapshot().Channels);
    }

    [Fact]
    public void The_version_and_the_change_event_move_only_when_the_set_changes()
    {
        var changes = 0;
        _channels.Changed += () => changes++;

        var first = _channels.Acquire(["orders"]);
        var version = _channels.Version;
        var second = _channels.Acquire(["orders"]);
        second.Dispose();

        Assert.Equal((version, 1), (_channels.Version, changes));
        Assert.Equal(version, second.Version);

        first.Dispose();
        Assert.Equal((version + 1, 2), (_channels.Version, changes));
    }

    [Fact]
    public void The_default_lease_stands_for_the_configured_channels()
    {
        using var orders = _channels.Acquire(["orders"]);
        var defaults = _channels.AcquireDefault();

        Assert.Equal(["audit", "orders", "pgws"], _channels.Snapshot().Channels.Order());

        defaults.Dispose();
        Assert.Equal(["orders"], _channels.Snapshot().Channels);
    }

    [Fact]
    public async Task Waiting_for_a_lease_ends_only_once_the_listener_has_applied_a_set_that_includes_it()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _channels.MarkListening(_channels.Version);
        using var lease = _channels.Acquire(["orders"]);

        var waiting = _channels.WaitUntilListeningAsync(lease.Version, cancellationToken);
        _channels.MarkListening(lease.Version - 1);
        Assert.False(waiting.IsCompleted);

        _channels.MarkListening(lease.Version);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);

        _channels.MarkNotListening();
        Assert.False(_channels.WaitUntilListeningAsync(lease.Version, cancellationToken).IsCompleted);
    }
}
