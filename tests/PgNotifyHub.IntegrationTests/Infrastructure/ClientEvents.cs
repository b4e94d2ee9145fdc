using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using PgNotifyHub.Client;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// Everything a <see cref="PgNotifyHubClient"/> raises, in the order it raised it: messages, resyncs, connects and
/// reconnects. Tests read it in order, so what came between two events can be asserted too.
/// </summary>
public sealed class ClientEvents
{
    private readonly Channel<object> _unread = Channel.CreateUnbounded<object>();
    private readonly List<object> _all = [];

    public ClientEvents(PgNotifyHubClient client)
    {
        client.Received += Record;
        client.Resync += Record;
        client.Connected += Record;
        client.Reconnecting += Record;
    }

    /// <summary>Every event raised so far, read or not.</summary>
    public IReadOnlyList<object> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    /// <summary>Reads events up to and including the first that matches <paramref name="last"/>, and returns them.</summary>
    public Task<IReadOnlyList<object>> ReadUntilAsync(Func<object, bool> last, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        ReadCoreAsync(last).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>Reads events up to the next <typeparamref name="T"/> that matches, and returns it.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        var read = await ReadUntilAsync(item => item is T typed && (match?.Invoke(typed) ?? true), filePath, lineNumber);
        return (T)read[^1];
    }

    /// <summary>Reads events up to the message whose payload has <paramref name="property"/> equal to <paramref name="value"/>.</summary>
    public Task<IReadOnlyList<object>> ReadUntilMessageAsync(string property, string value, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        ReadUntilAsync(item => item is PgNotifyHubMessage message && PayloadString(message, property) == value, filePath, lineNumber);

    /// <summary>A string property of a message's payload, or null.</summary>
    public static string? PayloadString(PgNotifyHubMessage message, string property) =>
        message.Payload.ValueKind == JsonValueKind.Object && message.Payload.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private async Task<IReadOnlyList<object>> ReadCoreAsync(Func<object, bool> last)
    {
        var read = new List<object>();
        while (true)
        {
            var item = await _unread.Reader.ReadAsync(TestContext.Current.CancellationToken);
            read.Add(item);
            if (last(item))
            {
                return read;
            }
        }
    }

    private Task Record(object item)
    {
        lock (_all)
        {
            _all.Add(item);
        }

        _unread.Writer.TryWrite(item);
        return Task.CompletedTask;
    }
}
