using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Parsing;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Tests.Sequencing;

/// <summary>
/// The replay buffers and the sequence numbers of every channel and audience are held within
/// <see cref="PgNotifyHubOptions.ReplayBufferMaxBytes"/>, whatever audiences the database sends; forgetting a route
/// never lets a client mistake new numbers for ones it has seen.
/// </summary>
[Collection(MemoryMeasurements.Name)]
public sealed class NotificationSequencerBoundsTests : IDisposable
{
    private const string Channel = "pgws";
    private const long Budget = 8L * 1024 * 1024;

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly NotificationRouter _router = new(NullLogger<NotificationRouter>.Instance);

    [Fact]
    public void Ten_thousand_notifications_to_distinct_large_audiences_stay_within_the_replay_budget()
    {
        var sequencer = CreateSequencer(Budget);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = 0; i < 10_000; i++)
        {
            sequencer.Publish(Parse(i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) + new string('a', 7_900), i));
        }

        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        var (bytes, routes) = sequencer.Footprint;
        Assert.True(bytes <= Budget, $"{bytes} bytes counted against a budget of {Budget}.");
        Assert.True(routes < 1_000, $"{routes} routes kept.");
        // The count is close to what is really held: without a bound, these routes hold about 240 MB.
        Assert.True(grown < 2 * Budget, $"The heap grew by {grown / 1048576} MiB.");
        GC.KeepAlive(sequencer);
    }

    [Fact]
    public void A_route_with_a_connection_is_never_forgotten_and_keeps_its_numbers()
    {
        var sequencer = CreateSequencer(budget: 64 * 1024);
        var client = new RecordingSink(new Route(Channel, "kept"));
        sequencer.Join(client, resume: null);

        sequencer.Publish(Parse("kept", 1));
        for (var i = 0; i < 1_000; i++)
        {
            sequencer.Publish(Parse("flood-" + i, i));
        }

        sequencer.Publish(Parse("kept", 2));

        Assert.Equal([1L, 2], client.Posted.Select(n => n.Sequence));
    }

    [Fact]
    public void A_client_resuming_a_route_forgotten_and_made_again_is_told_to_resync_rather_than_given_numbers_it_takes_for_seen()
    {
        var sequencer = CreateSequencer(budget: 64 * 1024);
        var route = new Route(Channel, "returning");
        var first = new RecordingSink(route);
        sequencer.Join(first, resume: null);
        for (var i = 1; i <= 3; i++)
        {
            sequencer.Publish(Parse("returning", i));
        }

        _router.Unregister(first);
        // The route goes idle and is forgotten under the flood; then it lives again with numbers of its own.
        for (var i = 0; i < 1_000; i++)
        {
            sequencer.Publish(Parse("flood-" + i, i));
        }

        // Forgotten: a newcomer is told the floor that new numbers start from, past what the route had reached.
        Assert.True(PositionOf(sequencer, route) > 3);
        sequencer.Publish(Parse("returning", 4));
        sequencer.Publish(Parse("returning", 5));

        var second = new RecordingSink(route);
        sequencer.Join(second, new ResumePosition(sequencer.Stream, new Dictionary<Route, long> { [route] = 3 }));

        Assert.Equal(ResyncReason.GapTooOld, Assert.Single(second.Resyncs).Reason);
        Assert.Empty(second.Posted);
    }

    public void Dispose() => _services.Dispose();

    private NotificationSequencer CreateSequencer(long budget) =>
        new(_router, new PgNotifyHubMetrics(_services.GetRequiredService<IMeterFactory>()), TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new PgNotifyHubOptions { ReplayBufferMaxBytes = budget }));

    private static ParsedNotification Parse(string audience, int i)
    {
        Assert.True(NotificationParser.TryParse(Channel, audience + ",{\"i\":" + i + "}", null, out var notification, out var error), error);
        return notification;
    }

    // Where a newcomer is told it stands on the route: the route's last number when it is kept, else the floor.
    private long PositionOf(NotificationSequencer sequencer, Route route)
    {
        var probe = new RecordingSink(route);
        sequencer.Join(probe, resume: null);
        _router.Unregister(probe);
        return probe.Positions.Single().Positions.Single().Seq;
    }

    private sealed class RecordingSink(params Route[] routes) : INotificationSink
    {
        public List<SequencedNotification> Posted { get; } = [];

        public List<ResyncNotice> Resyncs { get; } = [];

        public List<StreamPosition> Positions { get; } = [];

        public IReadOnlyList<Route> Routes { get; } = routes;

        public int QueueDepth => 0;

        public void Post(SequencedNotification notification) => Posted.Add(notification);

        public void Resync(ResyncNotice resync) => Resyncs.Add(resync);

        public void Position(StreamPosition position) => Positions.Add(position);
    }
}

/// <summary>Tests that measure the process's heap run alone, so no other test's allocations count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "Memory measurements";
}
