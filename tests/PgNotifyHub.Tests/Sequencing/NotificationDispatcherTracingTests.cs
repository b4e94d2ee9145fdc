using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Parsing;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace PgNotifyHub.Tests.Sequencing;

/// <summary>
/// The dispatcher traces a batch as one span with one child per notification, never one per recipient, and while
/// nobody listens to the <c>PgNotifyHub</c> source it allocates nothing beyond parsing and publishing.
/// </summary>
/// <remarks>
/// In the memory measurements' collection, which runs alone: an <see cref="ActivityListener"/> is process-wide, and
/// the allocation counts are this thread's.
/// </remarks>
[Collection(MemoryMeasurements.Name)]
public sealed class NotificationDispatcherTracingTests : IDisposable
{
    private const string Channel = "orders";
    private const string Audience = "acme";
    private const int Batch = 200;

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly NotificationQueue _queue = new();
    private readonly NotificationRouter _router = new(NullLogger<NotificationRouter>.Instance);
    private readonly NotificationSequencer _sequencer;
    private readonly NotificationDispatcher _dispatcher;

    public NotificationDispatcherTracingTests()
    {
        // No replay buffer, so publishing allocates the same for every notification of a known route.
        var options = MsOptions.Create(new PgNotifyHubOptions { ReplayBufferSize = 0, Channels = [Channel] });
        var metrics = new PgNotifyHubMetrics(_services.GetRequiredService<IMeterFactory>());
        _sequencer = new NotificationSequencer(_router, metrics, TimeProvider.System, options);
        _dispatcher = new NotificationDispatcher(
            _queue, _sequencer, new ChannelConsumers(new ListenedChannels(options)), metrics, options, TimeProvider.System, NullLogger<NotificationDispatcher>.Instance);
        _sequencer.Join(new CountingSink(), resume: null);
        _sequencer.Join(new CountingSink(), resume: null);
        _sequencer.Join(new CountingSink(everyAudience: true), resume: null);
    }

    [Fact]
    public void Without_a_listener_dispatching_allocates_nothing_beyond_parsing_and_publishing()
    {
        Assert.False(PgNotifyHubTracing.Source.HasListeners());
        Warm();

        var dispatching = AllocatedByDispatching();
        var parsingAndPublishing = AllocatedByParsingAndPublishing();

        Assert.Equal(parsingAndPublishing, dispatching);
    }

    [Fact]
    public void A_sampled_batch_is_one_dispatch_span_with_a_publish_child_per_notification_that_counts_its_recipients()
    {
        var spans = new List<Activity>();
        using var listener = Listen(spans);
        Warm();
        spans.Clear();
        Enqueue(Batch, origin: null);

        Assert.Equal(Batch, _dispatcher.DispatchBatch());

        var dispatch = Assert.Single(spans, span => span.OperationName == PgNotifyHubTracing.DispatchSpan);
        var publishes = spans.Where(span => span.OperationName == PgNotifyHubTracing.PublishSpan).ToList();
        Assert.Equal(Batch + 1, spans.Count);
        Assert.Equal(Batch, publishes.Count);
        Assert.All(publishes, publish =>
        {
            Assert.Equal(dispatch.SpanId, publish.ParentSpanId);
            Assert.Equal(dispatch.TraceId, publish.TraceId);
            Assert.Equal(Channel, publish.GetTagItem("messaging.destination.name"));
            Assert.Equal(Audience, publish.GetTagItem("pgnotifyhub.audience"));
            Assert.Equal(3, publish.GetTagItem("pgnotifyhub.recipient.count"));
        });
        Assert.Equal(Batch, dispatch.GetTagItem("messaging.batch.message_count"));
        Assert.Equal(Channel, dispatch.GetTagItem("messaging.destination.name"));
        Assert.Equal(1, dispatch.GetTagItem("pgnotifyhub.audience.count"));
        Assert.Equal(3 * Batch, dispatch.GetTagItem("pgnotifyhub.recipient.count"));
    }

    [Fact]
    public void A_batch_holds_only_what_one_span_received_and_is_that_span_s_child()
    {
        var spans = new List<Activity>();
        using var listener = Listen(spans);
        using var first = PgNotifyHubTracing.StartReceive(backendProcessId: 1, count: 2, Channel)!;
        first.Stop();
        using var second = PgNotifyHubTracing.StartReceive(backendProcessId: 1, count: 1, Channel)!;
        second.Stop();
        Enqueue(2, first);
        Enqueue(1, second);

        Assert.Equal(2, _dispatcher.DispatchBatch());
        Assert.Equal(1, _dispatcher.DispatchBatch());

        var dispatches = spans.Where(span => span.OperationName == PgNotifyHubTracing.DispatchSpan).ToList();
        Assert.Equal([first.SpanId, second.SpanId], dispatches.Select(dispatch => dispatch.ParentSpanId));
    }

    [Fact]
    public void With_a_listener_the_same_dispatching_allocates_its_spans()
    {
        // The measurement sees what tracing allocates: the first test's equality is not for want of looking.
        var spans = new List<Activity>();
        using var listener = Listen(spans);
        Warm();

        Assert.True(AllocatedByDispatching() > AllocatedByParsingAndPublishing());
    }

    public void Dispose() => _services.Dispose();

    private static ActivityListener Listen(List<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PgNotifyHubTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    // The route, the channel's encoding and the code paths exist before anything is measured.
    private void Warm()
    {
        for (var round = 0; round < 3; round++)
        {
            AllocatedByDispatching();
            AllocatedByParsingAndPublishing();
        }
    }

    private long AllocatedByDispatching()
    {
        Enqueue(Batch, origin: null);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var dispatched = _dispatcher.DispatchBatch();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(Batch, dispatched);
        return allocated;
    }

    private long AllocatedByParsingAndPublishing()
    {
        var payloads = Payloads(Batch);
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var payload in payloads)
        {
            Assert.True(NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var parsed, out _));
            _sequencer.Publish(parsed);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private void Enqueue(int count, Activity? origin)
    {
        foreach (var payload in Payloads(count))
        {
            Assert.True(_queue.Writer.TryWrite(new ReceivedNotification(Channel, payload) { Origin = origin }));
        }
    }

    // Of equal length, so parsing allocates the same for each.
    private static string[] Payloads(int count) =>
        [.. Enumerable.Range(0, count).Select(i => Audience + ",{\"i\":" + (1000 + i) + "}")];

    private sealed class CountingSink(bool everyAudience = false) : INotificationSink
    {
        public IReadOnlyList<Route> Routes { get; } = [new Route(Channel, everyAudience ? null : Audience)];

        public int QueueDepth => 0;

        public long Posted { get; private set; }

        public void Post(SequencedNotification notification) => Posted++;

        public void Resync(ResyncNotice resync)
        {
        }

        public void Position(StreamPosition position)
        {
        }
    }
}
