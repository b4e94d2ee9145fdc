using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// SignalR's long polling transport spoken by hand over HTTP: negotiate, then each POST is a message the client sends
/// and each GET a poll for what the server sends. Lets a test send what SignalR's client never would.
/// </summary>
public sealed class LongPollingSession : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly string _path;
    private readonly IReadOnlyList<(string Name, string Value)> _headers;

    private LongPollingSession(HttpClient http, string path, string connectionToken, IReadOnlyList<(string Name, string Value)> headers)
    {
        _http = http;
        _path = path;
        _headers = headers;
        ConnectionToken = connectionToken;
    }

    public string ConnectionToken { get; }

    /// <summary>
    /// Negotiates at <paramref name="path"/> (e.g. <c>/hub</c>, or <c>/hub?resume=</c>) with <paramref name="headers"/> on
    /// every request; returns the status and, when it is 200, the session, whose first poll has been answered.
    /// </summary>
    public static async Task<(HttpStatusCode Status, LongPollingSession? Session)> StartAsync(
        Uri baseUri, string path, IReadOnlyList<(string Name, string Value)> headers, CancellationToken cancellationToken)
    {
        var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var (pathOnly, query) = Split(path);
            using var negotiate = Request(HttpMethod.Post, pathOnly + "/negotiate?negotiateVersion=1" + (query.Length > 0 ? "&" + query : ""), headers);
            using var answer = await http.SendAsync(negotiate, cancellationToken);
            if (answer.StatusCode != HttpStatusCode.OK)
            {
                http.Dispose();
                return (answer.StatusCode, null);
            }

            using var document = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(cancellationToken));
            var session = new LongPollingSession(http, path, document.RootElement.GetProperty("connectionToken").GetString()!, headers);
            // The first poll only starts the connection, and is answered at once.
            var (status, _) = await session.PollAsync(cancellationToken);
            return (status, session);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="body"/> as one client message; returns the status.</summary>
    public async Task<HttpStatusCode> SendAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, ConnectionUri(), _headers);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var answer = await _http.SendAsync(request, cancellationToken);
        return answer.StatusCode;
    }

    public Task<HttpStatusCode> SendAsync(string text, CancellationToken cancellationToken) => SendAsync(Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>One poll: 200 with what the server sent, or 204 once the server ended the connection.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PollAsync(CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, ConnectionUri(), _headers);
        using var answer = await _http.SendAsync(request, cancellationToken);
        return (answer.StatusCode, await answer.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Polls until the server ends the connection (204 or 404); returns every message received meanwhile.</summary>
    public async Task<IReadOnlyList<string>> PollUntilClosedAsync(CancellationToken cancellationToken)
    {
        var messages = new List<string>();
        while (true)
        {
            var (status, body) = await PollAsync(cancellationToken);
            if (status != HttpStatusCode.OK)
            {
                return messages;
            }

            messages.AddRange(body.Split('\u001e', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>Polls until a message that contains <paramref name="text"/>; returns the messages up to and including it.</summary>
    public async Task<IReadOnlyList<string>> PollUntilAsync(string text, CancellationToken cancellationToken)
    {
        var messages = new List<string>();
        while (!messages.Any(message => message.Contains(text, StringComparison.Ordinal)))
        {
            var (status, body) = await PollAsync(cancellationToken);
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"The server ended the connection ({status}) before sending '{text}'; it sent: {string.Join(" | ", messages)}");
            }

            messages.AddRange(body.Split('\u001e', StringSplitOptions.RemoveEmptyEntries));
        }

        return messages;
    }

    /// <summary>Ends the connection as SignalR's client does, with a DELETE.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var request = Request(HttpMethod.Delete, ConnectionUri(), _headers);
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var _ = await _http.SendAsync(request, cancellation.Token);
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
        {
            // Cleanup only.
        }
        finally
        {
            _http.Dispose();
        }
    }

    private string ConnectionUri()
    {
        var (pathOnly, query) = Split(_path);
        return pathOnly + "?id=" + Uri.EscapeDataString(ConnectionToken) + (query.Length > 0 ? "&" + query : "");
    }

    private static (string Path, string Query) Split(string path)
    {
        var question = path.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (path, "") : (path[..question], path[(question + 1)..]);
    }

    private static HttpRequestMessage Request(HttpMethod method, string uri, IReadOnlyList<(string Name, string Value)> headers)
    {
        var request = new HttpRequestMessage(method, uri);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }
}
