using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Parsing;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Benchmarks;

/// <summary>
/// The whole per-message path: parse once, number it, fan out through the router into every recipient's bounded queue,
/// and take it out again as a sender would. Allocations must not grow with <see cref="Recipients"/>.
/// </summary>
/// <remarks>
/// The recipients are in-process subscriptions: their queues are the same bounded channels the raw sockets
/// use, and they can be drained synchronously, so no socket I/O blurs the measurement.
/// </remarks>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private const string Audience = "acme";

    private NotificationSequencer _sequencer = null!;
    private readonly string _payload = Payloads.Create(256);
    private ServiceProvider _services = null!;
    private PgNotificationSubscription[] _recipients = [];
    private IAsyncEnumerator<PgNotification>[] _queues = [];

    [Params(1, 10, 100, 1000)]
    public int Recipients { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().AddSingleton<PgNotifyHubMetrics>().BuildServiceProvider();
        var metrics = _services.GetRequiredService<PgNotifyHubMetrics>();
        // Nothing kept for replay, so what is measured is the path itself.
        var options = new PgNotifyHubOptions { SendQueueCapacity = 16, ReplayBufferSize = 0 };
        _sequencer = new NotificationSequencer(new NotificationRouter(NullLogger<NotificationRouter>.Instance), metrics, TimeProvider.System, Options.Create(options));
        var channels = new ListenedChannels(Options.Create(options));
        _recipients = [.. Enumerable.Range(0, Recipients).Select(_ => new PgNotificationSubscription(
            new Route(Payloads.Channel, Audience), options, channels.Acquire([Payloads.Channel]), _sequencer, metrics, NullLogger.Instance))];
        _queues = [.. _recipients.Select(recipient => recipient.GetAsyncEnumerator())];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var recipient in _recipients)
        {
            recipient.Dispose();
        }

        _services.Dispose();
    }

    [Benchmark]
    public int ParseFanOutAndDrain()
    {
        NotificationParser.TryParse(Payloads.Channel, _payload, timestampProperty: null, out var notification, out _);
        _sequencer.Publish(notification!);
        var delivered = 0;
        foreach (var queue in _queues)
        {
            var next = queue.MoveNextAsync();
            if (!next.IsCompletedSuccessfully || !next.Result)
            {
                throw new InvalidOperationException("A recipient's queue was empty: the fan-out lost the message.");
            }

            delivered++;
        }

        return delivered;
    }
}
