using System.Text.Json;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>Envelopes read off hand-spoken connections: a raw socket's text frames, and a hub's <c>notify</c> records.</summary>
public static class RawEnvelopes
{
    /// <summary>The envelope of a hub record <c>{"type":1,"target":"notify","arguments":[envelope]}</c>; null for any other record.</summary>
    public static Envelope? FromHubRecord(string record)
    {
        using var document = JsonDocument.Parse(record);
        var root = document.RootElement;
        return root.TryGetProperty("target", out var target) && target.GetString() == "notify"
            ? Envelope.Parse(root.GetProperty("arguments")[0].GetRawText())
            : null;
    }

    /// <summary>Envelopes up to the marker (excluded); control frames of the sequenced subprotocol are skipped.</summary>
    public static async Task<IReadOnlyList<Envelope>> ReceiveUntilMarkerAsync(this RawWebSocket socket, string markerId)
    {
        using var cancellation = Timeout();
        var before = new List<Envelope>();
        while (true)
        {
            var text = await socket.ReceiveTextAsync(cancellation.Token)
                ?? throw new InvalidOperationException($"The raw socket was closed before marker {markerId}; it received {before.Count} envelope(s).");
            if (text.StartsWith("{\"type\":", StringComparison.Ordinal))
            {
                continue;
            }

            var envelope = Envelope.Parse(text);
            if (envelope.IsMarker(markerId))
            {
                return before;
            }

            before.Add(envelope);
        }
    }

    /// <summary>Envelopes of <c>notify</c> records up to the marker (excluded); other records are skipped.</summary>
    public static async Task<IReadOnlyList<Envelope>> ReceiveUntilMarkerAsync(this RawHubConnection hub, string markerId)
    {
        using var cancellation = Timeout();
        var before = new List<Envelope>();
        while (true)
        {
            var record = await hub.ReceiveRecordAsync(cancellation.Token)
                ?? throw new InvalidOperationException($"The hub connection was closed before marker {markerId}; it received {before.Count} envelope(s).");
            if (FromHubRecord(record) is not { } envelope)
            {
                continue;
            }

            if (envelope.IsMarker(markerId))
            {
                return before;
            }

            before.Add(envelope);
        }
    }

    private static CancellationTokenSource Timeout()
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancellation.CancelAfter(TimeoutExtensions.DefaultTimeout);
        return cancellation;
    }
}
