using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>A real SignalR client, over WebSockets unless told otherwise; each <c>notify</c> argument is queued as raw JSON text.</summary>
public sealed class SignalRTestClient : NotifyTestClient
{
    private readonly HubConnection _connection;
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SignalRTestClient(HubConnection connection, string? audienceHeader)
        : base(Transport.SignalR, audienceHeader)
    {
        _connection = connection;
        _connection.On<JsonElement>("notify", envelope => OnMessage(envelope.GetRawText()));
        _connection.On<JsonElement>("resync", notice =>
        {
            var (reason, stream) = (notice.GetProperty("reason").GetString()!, notice.GetProperty("stream").GetString()!);
            if (notice.TryGetProperty("audience", out var audience))
            {
                OnTopicResync(new TopicResync(reason, stream, notice.GetProperty("channel").GetString()!, audience.GetString()!));
            }
            else
            {
                OnResync(reason, stream);
            }
        });
        _connection.On<JsonElement>("position", position => OnPosition(position.GetRawText()));
        _connection.Closed += exception =>
        {
            _closed.TrySetResult(exception);
            OnConnectionEnded();
            return Task.CompletedTask;
        };
    }

    /// <summary>Completes when the connection closes, with the error if it was not a clean close.</summary>
    public Task<Exception?> Closed => _closed.Task;

    public HubConnection Connection => _connection;

    public override bool IsConnected => _connection.State == HubConnectionState.Connected && !_closed.Task.IsCompleted;

    protected override string CloseDescription => _closed.Task.IsCompleted
        ? "closed" + (_closed.Task.Result is { } error ? $" with {error.GetType().Name}: {error.Message}" : " cleanly")
        : _connection.State.ToString();

    /// <summary>
    /// Starts the connection. The server registers the connection after <c>StartAsync</c> returns: callers that
    /// need it registered wait on the hub's subscriber count (as <see cref="NotifyTestHost"/> does).
    /// </summary>
    public static async Task<SignalRTestClient> ConnectAsync(
        Uri baseUri,
        string? audienceHeader,
        CancellationToken cancellationToken,
        string path = "/hub",
        HttpTransportType transport = HttpTransportType.WebSockets,
        string? origin = null,
        string? accessToken = null)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(baseUri, path), options =>
            {
                options.Transports = transport;
                options.SkipNegotiation = transport == HttpTransportType.WebSockets;
                if (audienceHeader is not null)
                {
                    options.Headers["X-Audience"] = audienceHeader;
                }

                if (origin is not null)
                {
                    options.Headers["Origin"] = origin;
                }

                if (accessToken is not null)
                {
                    options.AccessTokenProvider = () => Task.FromResult<string?>(accessToken);
                }
            })
            .Build();
        var client = new SignalRTestClient(connection, audienceHeader);
        try
        {
            await connection.StartAsync(cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return client;
    }

    public override async Task<TopicReply> RequestAsync(string method, string request)
    {
        using var argument = JsonDocument.Parse(request);
        try
        {
            var answer = await _connection.InvokeAsync<JsonElement>(method, argument.RootElement, TestContext.Current.CancellationToken);
            return TopicReply.Parse(answer, method == PgNotificationHub.SubscribeMethod ? "subscribed" : "unsubscribed");
        }
        catch (HubException refused)
        {
            // The server's HubException message is the reason; the client puts its own words before it.
            return new TopicReply("refused", null, null, Reason: refused.Message[(refused.Message.LastIndexOf("HubException: ", StringComparison.Ordinal) + "HubException: ".Length)..]);
        }
    }

    public override async ValueTask DisposeAsync() => await _connection.DisposeAsync();
}
