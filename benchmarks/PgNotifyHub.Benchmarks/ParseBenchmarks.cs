using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Benchmarks;

/// <summary>What each message costs once, whatever the number of recipients: parsing, the envelope, the SignalR frame.</summary>
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
    public PgNotification ParseAndWriteEnvelope()
    {
        NotificationParser.TryParse(Payloads.Channel, _payload, timestampProperty: null, out var notification, out _);
        return notification!;
    }

    [Benchmark]
    public ReadOnlyMemory<byte> ParseAndSerialiseForSignalR()
    {
        NotificationParser.TryParse(Payloads.Channel, _payload, timestampProperty: null, out var notification, out _);
        return notification!.HubMessage.GetSerializedMessage(_json);
    }
}
