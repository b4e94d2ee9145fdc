using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A connected client of either transport. Every envelope it receives is queued as raw text; the receive
/// helpers wait for them through <see cref="TimeoutExtensions"/>.
/// </summary>
public abstract class NotifyTestClient : IAsyncDisposable
{
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<(string Reason, string Stream)> _resyncs = Channel.CreateUnbounded<(string Reason, string Stream)>();
    private readonly Channel<string> _positions = Channel.CreateUnbounded<string>();
    private readonly Channel<TopicResync> _topicResyncs = Channel.CreateUnbounded<TopicResync>();

    protected NotifyTestClient(Transport transport, string? audienceHeader)
    {
        Transport = transport;
        AudienceHeader = audienceHeader;
    }

    public Transport Transport { get; }

    /// <summary>The <c>X-Audience</c> header sent when connecting (null: none, so the audience is <c>default</c>).</summary>
    public string? AudienceHeader { get; }

    /// <summary>Still connected, and the server has not closed or aborted the connection.</summary>
    public abstract bool IsConnected { get; }

    /// <summary>How the connection ended, for failure messages.</summary>
    protected abstract string CloseDescription { get; }

    public override string ToString() => $"{Transport} client [{AudienceHeader ?? "default"}]";

    /// <summary>The next envelope's raw text.</summary>
    public Task<string> ReceiveRawAsync(TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        WithReadCancellation(timeout, token => ReadAsync(token)).OrTimeout(timeout, filePath, lineNumber);

    /// <summary>The next envelope.</summary>
    public Task<Envelope> ReceiveAsync(TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        WithReadCancellation(timeout, async token => Envelope.Parse(await ReadAsync(token))).OrTimeout(timeout, filePath, lineNumber);

    /// <summary>The next <paramref name="count"/> envelopes, in the order received.</summary>
    public Task<IReadOnlyList<Envelope>> ReceiveAsync(int count, TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        WithReadCancellation<IReadOnlyList<Envelope>>(timeout, async token =>
        {
            var received = new List<Envelope>(count);
            while (received.Count < count)
            {
                received.Add(Envelope.Parse(await ReadAsync(token)));
            }

            return received;
        }).OrTimeout(timeout, filePath, lineNumber);

    /// <summary>
    /// Receives until the envelope carrying marker <paramref name="markerId"/> and returns everything received
    /// before it (the marker excluded): what arrived between the previous read and the marker.
    /// </summary>
    public Task<IReadOnlyList<Envelope>> ReceiveUntilMarkerAsync(string markerId, TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        WithReadCancellation<IReadOnlyList<Envelope>>(timeout, async token =>
        {
            var before = new List<Envelope>();
            while (true)
            {
                var envelope = Envelope.Parse(await ReadAsync(token));
                if (envelope.IsMarker(markerId))
                {
                    return before;
                }

                before.Add(envelope);
            }
        }).OrTimeout(timeout, filePath, lineNumber);

    public abstract ValueTask DisposeAsync();

    protected void OnMessage(string text) => _messages.Writer.TryWrite(text);

    /// <summary>A resync notice (SignalR's <c>resync</c>, the sequenced subprotocol's control frame): its reason and stream.</summary>
    protected void OnResync(string reason, string stream) => _resyncs.Writer.TryWrite((reason, stream));

    /// <summary>The next resync notice the client received.</summary>
    public Task<(string Reason, string Stream)> ReceiveResyncAsync([CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        _resyncs.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>A resync notice that concerns one topic alone.</summary>
    protected void OnTopicResync(TopicResync resync) => _topicResyncs.Writer.TryWrite(resync);

    /// <summary>The next resync notice naming a topic that the client received.</summary>
    public Task<TopicResync> ReceiveTopicResyncAsync([CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        _topicResyncs.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>Resync notices naming a topic received and not yet taken.</summary>
    public int PendingTopicResyncs => _topicResyncs.Reader.Count;

    /// <summary>
    /// Asks to subscribe to a topic, with <c>seq</c> and <c>stream</c> when given, and returns the answer. Only for clients
    /// of the sequenced envelope: SignalR, or a raw socket of <c>pgnotifyhub.v1</c>.
    /// </summary>
    public Task<TopicReply> SubscribeAsync(string audience, string? channel = null, long? seq = null, string? stream = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        RequestAsync(PgNotificationHub.SubscribeMethod, TopicRequestJson(PgNotificationHub.SubscribeMethod, audience, channel, seq, stream)).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>Asks to leave a topic, and returns the answer.</summary>
    public Task<TopicReply> UnsubscribeAsync(string audience, string? channel = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        RequestAsync(PgNotificationHub.UnsubscribeMethod, TopicRequestJson(PgNotificationHub.UnsubscribeMethod, audience, channel, seq: null, stream: null)).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>
    /// Sends a topic request as it is (<paramref name="request"/>, JSON; on the raw endpoint it must say its type) and
    /// returns the answer: SignalR calls <paramref name="method"/> with it as the one argument.
    /// </summary>
    public abstract Task<TopicReply> RequestAsync(string method, string request);

    // On the raw endpoint the request says what it asks for; on SignalR the method does.
    private string TopicRequestJson(string type, string audience, string? channel, long? seq, string? stream)
    {
        var request = Transport == Transport.WebSocket ? new Dictionary<string, object> { ["type"] = type } : [];
        request["audience"] = audience;
        if (channel is not null)
        {
            request["channel"] = channel;
        }

        if (seq is { } lastSeen)
        {
            request["seq"] = lastSeen;
        }

        if (stream is not null)
        {
            request["stream"] = stream;
        }

        return System.Text.Json.JsonSerializer.Serialize(request);
    }

    /// <summary>A position notice, as its JSON <c>{"stream":…,"positions":[…]}</c>: what the client passes back in <c>resume</c>.</summary>
    protected void OnPosition(string json) => _positions.Writer.TryWrite(json);

    /// <summary>The next position notice the client received, ready to pass back as <c>resume</c>.</summary>
    public Task<string> ReceivePositionAsync([CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        _positions.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>
    /// Proves that nothing in <paramref name="received"/> was lost silently: within each stream the numbers run 1, 2,
    /// 3… with no hole, and every stream after the first was announced by a resync. Takes the pending resync notices.
    /// </summary>
    /// <returns>How many resync notices there were.</returns>
    public async Task<int> AssertNoSilentGapAsync(IReadOnlyList<Envelope> received)
    {
        var streams = received.Select(e => e.Stream!).Distinct().ToList();
        foreach (var stream in streams)
        {
            var numbers = received.Where(e => e.Stream == stream).Select(e => e.Seq!.Value).ToList();
            Assert.Equal(Enumerable.Range(1, numbers.Count).Select(n => (long)n), numbers);
        }

        var resyncs = new List<string>();
        while (PendingResyncs > 0)
        {
            resyncs.Add((await ReceiveResyncAsync()).Stream);
        }

        Assert.Subset(resyncs.ToHashSet(), streams.Skip(1).ToHashSet());
        return resyncs.Count;
    }

    /// <summary>Resync notices received and not yet taken.</summary>
    public int PendingResyncs => _resyncs.Reader.Count;

    protected void OnConnectionEnded() => _messages.Writer.TryComplete();

    private async Task<string> ReadAsync(CancellationToken cancellationToken)
    {
        if (await _messages.Reader.WaitToReadAsync(cancellationToken) && _messages.Reader.TryRead(out var message))
        {
            return message;
        }

        throw new InvalidOperationException($"{this} was closed while a message was expected: {CloseDescription}.");
    }

    // The read is cancelled a little after the timeout fires, so an abandoned read cannot take a later message.
    private static async Task<T> WithReadCancellation<T>(TimeSpan? timeout, Func<CancellationToken, Task<T>> read)
    {
        var limit = timeout ?? TimeoutExtensions.DefaultTimeout;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        if (limit != Timeout.InfiniteTimeSpan)
        {
            cancellation.CancelAfter(limit + TimeSpan.FromSeconds(1));
        }

        return await read(cancellation.Token);
    }
}
