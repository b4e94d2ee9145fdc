using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Parsing;
using PgNotifyHub.Sequencing;
using PgNotifyHub.Transports.SignalR;
using PgNotifyHub.Transports.WebSockets;

namespace PgNotifyHub.Benchmarks;

/// <summary>
/// What each message costs once, whatever the number of recipients: parsing and the envelope, and each transport's
/// encoding: the raw socket's frames and the SignalR invocation.
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private readonly JsonHubProtocol _json = new();
    private string _payload = "";

    [Params(64, 1024, 7999)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup() => _payload = Payloads.Create(PayloadBytes);

    [Benchmark(Baseline = true)]
    public ReadOnlyMemory<byte> ParseAndWriteEnvelope()
    {
        NotificationParser.TryParse(Payloads.Channel, _payload, timestampProperty: null, out var notification, out _);
        return notification!.Envelope;
    }

    [Benchmark]
    public ReadOnlyMemory<byte> ParseAndFrameForRawSockets()
    {
        var notification = Sequence();
        WebSocketFrames.Pgws(notification);
        return WebSocketFrames.Sequenced(notification);
    }

    [Benchmark]
    public ReadOnlyMemory<byte> ParseAndSerialiseForSignalR() => HubMessages.Notify(Sequence()).GetSerializedMessage(_json);

    private SequencedNotification Sequence()
    {
        NotificationParser.TryParse(Payloads.Channel, _payload, timestampProperty: null, out var parsed, out _);
        return new SequencedNotification(parsed!, sequence: 1, stream: "0123456789abcdef", published: 1, publishedAt: 0);
    }
}
