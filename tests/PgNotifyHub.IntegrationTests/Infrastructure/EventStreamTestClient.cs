using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>One event of an event stream as the WHATWG HTML standard's parser dispatches it.</summary>
/// <param name="Type">The event type: <c>message</c> unless an <c>event</c> field named another.</param>
/// <param name="Data">The data lines, joined with LF.</param>
/// <param name="LastEventId">The last event id after the event, as <c>EventSource.lastEventId</c> holds it.</param>
public sealed record ServerSentEvent(string Type, string Data, string LastEventId);

/// <summary>
/// A Server-Sent Events client over <see cref="HttpClient"/> that parses the stream as a browser's <c>EventSource</c>
/// does (CR, LF or CRLF line ends; <c>data</c> lines joined; <c>id</c> kept across events; comments skipped), and
/// records every event: notifications as envelopes, <c>resync</c> and <c>position</c> as notices. It does not reconnect
/// by itself: a test reconnects with <see cref="LastEventId"/>, as a browser would. It can also be made to not read.
/// </summary>
public sealed class EventStreamTestClient : NotifyTestClient
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly Stream _body;
    private readonly CancellationTokenSource _disposing = new();
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<ServerSentEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _readLoop;
    private string _lastEventId = "";
    private int _comments;
    private int _disposed;
    private long? _retry;

    private EventStreamTestClient(HttpClient http, HttpResponseMessage response, Stream body, string? audienceHeader)
        : base(Transport.EventStream, audienceHeader)
    {
        _http = http;
        _response = response;
        _body = body;
    }

    /// <summary>The response, for its status, version and headers.</summary>
    public HttpResponseMessage Response => _response;

    /// <summary>Completes when the stream ends, with how: <c>end of stream</c>, or the error that ended it.</summary>
    public Task<string> Ended => _ended.Task;

    /// <summary>The id a browser would send back as <c>Last-Event-ID</c> if it reconnected now.</summary>
    public string LastEventId
    {
        get
        {
            lock (_events)
            {
                return _lastEventId;
            }
        }
    }

    /// <summary>Every event dispatched so far, in order.</summary>
    public IReadOnlyList<ServerSentEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Comment lines read so far: the server's keep-alives.</summary>
    public int Comments => Volatile.Read(ref _comments);

    /// <summary>The last <c>retry</c> field, in milliseconds.</summary>
    public long? Retry
    {
        get
        {
            lock (_events)
            {
                return _retry;
            }
        }
    }

    public override bool IsConnected => _readLoop is not null && !_ended.Task.IsCompleted;

    protected override string CloseDescription => _ended.Task.IsCompleted ? _ended.Task.Result : "open";

    /// <param name="baseUri">The server, http://host:port.</param>
    /// <param name="audienceHeader">The X-Audience header, or null to send none.</param>
    /// <param name="path">The endpoint with any query, e.g. <c>/events?resume=</c>.</param>
    /// <param name="lastEventId">The <c>Last-Event-ID</c> header a reconnecting browser sends; null to send none.</param>
    /// <param name="origin">The Origin header a cross-origin page's <c>EventSource</c> sends; null to send none.</param>
    /// <param name="accessToken">A bearer token for the Authorization header; null to send none.</param>
    /// <param name="cookie">The Cookie header a browser sends with the request; null to send none.</param>
    /// <param name="http2">Over HTTP/2 without TLS (h2c, prior knowledge), as a proxy in front of the server may speak it.</param>
    /// <param name="startReceiving">False to not read until <see cref="StartReceiving"/>: a slow consumer.</param>
    /// <param name="receiveBufferSize">A small socket receive buffer makes a slow consumer's TCP window fill quickly.</param>
    /// <param name="cancellationToken">Cancels the request until its headers arrive.</param>
    public static async Task<EventStreamTestClient> ConnectAsync(
        Uri baseUri,
        string? audienceHeader,
        string path = "/events",
        string? lastEventId = null,
        string? origin = null,
        string? accessToken = null,
        string? cookie = null,
        bool http2 = false,
        bool startReceiving = true,
        int? receiveBufferSize = null,
        CancellationToken cancellationToken = default)
    {
        var http = CreateHttpClient(baseUri, receiveBufferSize);
        try
        {
            using var request = Request(path, audienceHeader, lastEventId, origin, accessToken, http2);
            if (cookie is not null)
            {
                request.Headers.Add("Cookie", cookie);
            }

            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new HttpRequestException($"The event stream was refused with {(int)response.StatusCode}: {body}", null, response.StatusCode);
            }

            var client = new EventStreamTestClient(http, response, await response.Content.ReadAsStreamAsync(cancellationToken), audienceHeader);
            if (startReceiving)
            {
                client.StartReceiving();
            }

            return client;
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Requests the stream expecting a refusal; returns the status and the body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> ConnectExpectingRefusalAsync(
        Uri baseUri,
        string? audienceHeader,
        string path = "/events",
        string? lastEventId = null,
        string? origin = null,
        string? accessToken = null,
        CancellationToken cancellationToken = default)
    {
        using var http = CreateHttpClient(baseUri, receiveBufferSize: null);
        using var request = Request(path, audienceHeader, lastEventId, origin, accessToken, http2: false);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public void StartReceiving() => _readLoop ??= Task.Run(ReadLoopAsync);

    /// <summary>Completes once <paramref name="reached"/> holds, checked after every event and comment the client reads.</summary>
    public Task WaitUntilAsync(Func<EventStreamTestClient, bool> reached, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        Task.Run(
            async () =>
            {
                while (true)
                {
                    Task changed;
                    lock (_events)
                    {
                        changed = _changed.Task;
                    }

                    if (reached(this))
                    {
                        return;
                    }

                    if (_ended.Task.IsCompleted)
                    {
                        throw new InvalidOperationException($"{this} ended while waiting: {CloseDescription}.");
                    }

                    await Task.WhenAny(changed, _ended.Task);
                }
            },
            TestContext.Current.CancellationToken).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    // The stream sends the server nothing once open: its topics are in its query (?topic=).
    public override Task<TopicReply> RequestAsync(string method, string request) =>
        throw new NotSupportedException("An event stream asks for its topics in its query, ?topic=, when it connects.");

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync();
        _body.Dispose();
        _response.Dispose();
        if (_readLoop is not null)
        {
            await _readLoop;
        }

        _http.Dispose();
        _disposing.Dispose();
    }

    private static HttpRequestMessage Request(string path, string? audienceHeader, string? lastEventId, string? origin, string? accessToken, bool http2)
    {
        // SendAsync takes the version of the request, not the client's default.
        var request = new HttpRequestMessage(HttpMethod.Get, path)
        {
            Version = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        if (audienceHeader is not null)
        {
            request.Headers.Add(NotifyTestHost.AudienceHeader, audienceHeader);
        }

        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return request;
    }

    private static HttpClient CreateHttpClient(Uri baseUri, int? receiveBufferSize)
    {
        var handler = receiveBufferSize is { } size ? WebSocketTestClient.SmallBufferHandler(size) : new SocketsHttpHandler();
        handler.PooledConnectionLifetime = Timeout.InfiniteTimeSpan;
        return new HttpClient(handler) { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
    }

    // The parser of the HTML standard (9.2.6): lines end at CR, LF or CRLF; a blank line dispatches the event.
    private async Task ReadLoopAsync()
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var bytes = new byte[16 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var line = new StringBuilder();
        var data = new StringBuilder();
        var type = "";
        var afterCarriageReturn = false;
        try
        {
            int read;
            while ((read = await _body.ReadAsync(bytes, _disposing.Token)) > 0)
            {
                var count = decoder.GetChars(bytes, 0, read, chars, 0);
                for (var i = 0; i < count; i++)
                {
                    var c = chars[i];
                    if (c == '\n' && afterCarriageReturn)
                    {
                        afterCarriageReturn = false;
                        continue;
                    }

                    afterCarriageReturn = c == '\r';
                    if (c is not ('\r' or '\n'))
                    {
                        line.Append(c);
                        continue;
                    }

                    ProcessLine(line.ToString(), data, ref type);
                    line.Clear();
                }
            }

            _ended.TrySetResult("end of stream");
        }
        catch (Exception exception)
        {
            _ended.TrySetResult($"{exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            OnConnectionEnded();
            Changed();
        }
    }

    private void ProcessLine(string line, StringBuilder data, ref string type)
    {
        if (line.Length == 0)
        {
            Dispatch(data, type);
            data.Clear();
            type = "";
            return;
        }

        if (line[0] == ':')
        {
            Interlocked.Increment(ref _comments);
            Changed();
            return;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' '))
        {
            value = value[1..];
        }

        switch (field)
        {
            case "event":
                type = value;
                break;
            case "data":
                data.Append(value).Append('\n');
                break;
            case "id" when !value.Contains('\0', StringComparison.Ordinal):
                lock (_events)
                {
                    _lastEventId = value;
                }

                break;
            case "retry" when value.Length > 0 && value.All(char.IsAsciiDigit):
                lock (_events)
                {
                    _retry = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                }

                break;
        }
    }

    private void Dispatch(StringBuilder data, string type)
    {
        if (data.Length == 0)
        {
            return;
        }

        var text = data.ToString(0, data.Length - 1);
        var dispatched = new ServerSentEvent(type.Length == 0 ? "message" : type, text, LastEventId);
        lock (_events)
        {
            _events.Add(dispatched);
        }

        switch (dispatched.Type)
        {
            case "message":
                OnMessage(text);
                break;
            case "resync":
                using (var notice = JsonDocument.Parse(text))
                {
                    OnResync(notice.RootElement.GetProperty("reason").GetString()!, notice.RootElement.GetProperty("stream").GetString()!);
                }

                break;
            case "position":
                OnPosition(text);
                break;
            default:
                throw new FormatException("Unknown event type: " + dispatched.Type);
        }

        Changed();
    }

    private void Changed()
    {
        TaskCompletionSource changed;
        lock (_events)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
