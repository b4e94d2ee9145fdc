using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>A real SignalR client of <see cref="BackplaneTestHub"/>; answers <c>ask</c> with its name, <c>neverAnswer</c> never.</summary>
public sealed class BackplaneClient : IAsyncDisposable
{
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
    private readonly TaskCompletionSource _unanswered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BackplaneClient(HubConnection connection, string name, int node)
    {
        Connection = connection;
        Name = name;
        Node = node;
        connection.On<string>(BackplaneTestHub.MessageMethod, message => _messages.Writer.TryWrite(message));
        connection.On(BackplaneTestHub.AskMethod, () => Name);
        connection.On<string>(BackplaneTestHub.NeverAnswerMethod, () =>
        {
            _unanswered.TrySetResult();
            return new TaskCompletionSource<string>().Task;
        });
    }

    public HubConnection Connection { get; }

    public string Name { get; }

    /// <summary>The index of the node it is connected to.</summary>
    public int Node { get; }

    public string ConnectionId { get; private set; } = "";

    /// <summary>Completes when the server has asked for a result that will never come.</summary>
    public Task Unanswered => _unanswered.Task;

    public override string ToString() => $"{Name} on node {Node}";

    /// <summary>Returns once the server has registered the connection: hub calls run only after that. JSON unless <paramref name="messagePack"/>.</summary>
    public static async Task<BackplaneClient> ConnectAsync(Uri baseUri, string path, int node, string name, string? user, bool messagePack)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(baseUri, path), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                if (user is not null)
                {
                    options.Headers[HeaderUserIdProvider.Header] = user;
                }
            });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        var connection = builder.Build();
        var client = new BackplaneClient(connection, name, node);
        try
        {
            await connection.StartAsync(cancellationToken).OrTimeout();
            client.ConnectionId = await connection.InvokeAsync<string>(nameof(BackplaneTestHub.ConnectionId), cancellationToken).OrTimeout();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return client;
    }

    public Task<string> ReceiveAsync(TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        _messages.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout(timeout, filePath, lineNumber);

    /// <summary>Everything received before <paramref name="marker"/>, which must come.</summary>
    public async Task<IReadOnlyList<string>> ReceiveUntilAsync(string marker, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        var before = new List<string>();
        while (await ReceiveAsync(filePath: filePath, lineNumber: lineNumber) is var message && message != marker)
        {
            before.Add(message);
        }

        return before;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
