using System.Net;
using System.Text;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// SignalR's JSON hub protocol spoken by hand over a <see cref="RawWebSocket"/>: records separated by 0x1E, sent and
/// received as they are, so a test can send what no SignalR client would and see every record the server sends.
/// </summary>
public sealed class RawHubConnection : IAsyncDisposable
{
    public const char RecordSeparator = '\u001e';

    /// <summary>SignalR's handshake request for its JSON protocol.</summary>
    public const string JsonHandshake = "{\"protocol\":\"json\",\"version\":1}\u001e";

    private readonly Queue<string> _records = new();

    private RawHubConnection(RawWebSocket socket) => Socket = socket;

    public RawWebSocket Socket { get; }

    /// <summary>
    /// Opens the hub's WebSocket at <paramref name="path"/> with <paramref name="headers"/> (raw bytes, so any value can
    /// be sent) and, when it is accepted, sends <paramref name="handshake"/>. Returns the status and the connection.
    /// </summary>
    public static async Task<(HttpStatusCode Status, RawHubConnection? Connection)> OpenAsync(
        Uri baseUri, string path, IEnumerable<(string Name, byte[] Value)> headers, CancellationToken cancellationToken, string? handshake = JsonHandshake)
    {
        var answer = await RawWebSocket.OpenAsync(baseUri, Encoding.UTF8.GetBytes(path), headers, cancellationToken);
        if (answer.Socket is null)
        {
            return (answer.Status, null);
        }

        var connection = new RawHubConnection(answer.Socket);
        if (handshake is not null)
        {
            await connection.SendAsync(handshake, cancellationToken);
        }

        return (answer.Status, connection);
    }

    /// <summary>As the other overload, with text header values.</summary>
    public static Task<(HttpStatusCode Status, RawHubConnection? Connection)> OpenAsync(
        Uri baseUri, string path, IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken, string? handshake = JsonHandshake) =>
        OpenAsync(baseUri, path, headers.Select(h => (h.Name, Encoding.UTF8.GetBytes(h.Value))), cancellationToken, handshake);

    /// <summary>Sends <paramref name="text"/> as one text frame, separators included as given.</summary>
    public Task SendAsync(string text, CancellationToken cancellationToken) => Socket.SendTextAsync(text, cancellationToken);

    /// <summary>The next record (without its separator); null once the server closed the connection.</summary>
    public async Task<string?> ReceiveRecordAsync(CancellationToken cancellationToken)
    {
        while (_records.Count == 0)
        {
            string? text;
            try
            {
                text = await Socket.ReceiveTextAsync(cancellationToken);
            }
            catch (IOException)
            {
                return null;
            }

            if (text is null)
            {
                return null;
            }

            foreach (var record in text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                _records.Enqueue(record);
            }
        }

        return _records.Dequeue();
    }

    /// <summary>Records until one that contains <paramref name="text"/>, which is included; throws if the server closes first.</summary>
    public async Task<IReadOnlyList<string>> ReceiveUntilAsync(string text, CancellationToken cancellationToken)
    {
        var records = new List<string>();
        while (true)
        {
            var record = await ReceiveRecordAsync(cancellationToken)
                ?? throw new InvalidOperationException($"The server closed the connection before sending '{text}'; it sent: {string.Join(" | ", records)}");
            records.Add(record);
            if (record.Contains(text, StringComparison.Ordinal))
            {
                return records;
            }
        }
    }

    /// <summary>Every record until the server closes the connection.</summary>
    public async Task<IReadOnlyList<string>> ReceiveUntilClosedAsync(CancellationToken cancellationToken)
    {
        var records = new List<string>();
        while (await ReceiveRecordAsync(cancellationToken) is { } record)
        {
            records.Add(record);
        }

        return records;
    }

    public ValueTask DisposeAsync() => Socket.DisposeAsync();
}
