using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Delivery;
using PgNotifyHub.Internal;
using PgNotifyHub.Listening;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The lifetime manager of an application's hub on every node: sends are serialised once per protocol, published to
/// the hub's channel with <c>pg_notify</c>, and every node, the sender included, writes them to its own connections in
/// the order the channel delivers them. Group membership lives on the node that holds the connection; another node
/// changes it by a command that node acknowledges.
/// </summary>
/// <remarks>
/// Every node receives every message of the hub and picks its own recipients, unlike the Redis backplane's channel
/// per group, connection and user: see <see cref="BackplaneChannel"/>.
/// </remarks>
internal sealed class PgNotifyHubLifetimeManager<THub> : HubLifetimeManager<THub>, IChannelConsumer, IDisposable
    where THub : Hub
{
    // Deep enough to ride out a burst while clients flush; a node that stays this far behind drops, and says so.
    private const int ReceiveQueueCapacity = 100_000;

    // Bounds what a node holds for clients that do not read: beyond it, receiving waits for the oldest message's writes.
    private const int MaxHandlingInFlight = 64;

    private static readonly object GroupsKey = new();

    private readonly HubConnectionStore _connections = new();
    private readonly ConcurrentDictionary<string, HubConnectionStore> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HubConnectionStore> _users = new(StringComparer.Ordinal);
    private readonly Lock _membership = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _acks = new();
    private readonly ClientResults _results = new();
    // Synchronous continuations: the dispatcher's write runs the idle receive loop on its own thread, rather than
    // queueing it behind the thread pool's other work; the loop awaits only the reads of spilled frames.
    private readonly Channel<string> _received = Channel.CreateBounded<string>(
        new BoundedChannelOptions(ReceiveQueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly Guid _node = Guid.NewGuid();
    private readonly string _hubName = typeof(THub).FullName ?? typeof(THub).Name;
    private readonly string _channel;
    private readonly string _invocationIdPrefix;
    private readonly IReadOnlyList<IHubProtocol> _protocols;
    private readonly IHubProtocolResolver _protocolResolver;
    private readonly BackplanePublisher _publisher;
    private readonly BackplaneDatabase _database;
    private readonly PgNotifyHubBackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IDisposable _registration;
    private readonly Task _listening;
    private long _sequence;
    private int _lastAckId;
    private long _lastInvocationId;
    private int _dropping;

    public PgNotifyHubLifetimeManager(
        BackplanePublisher publisher,
        BackplaneDatabase database,
        ChannelConsumers consumers,
        ListenedChannels listened,
        IHubProtocolResolver protocolResolver,
        IOptions<HubOptions> globalHubOptions,
        IOptions<HubOptions<THub>> hubOptions,
        IOptions<PgNotifyHubBackplaneOptions> options,
        ILogger<PgNotifyHubLifetimeManager<THub>> logger)
    {
        _publisher = publisher;
        _database = database;
        _protocolResolver = protocolResolver;
        _options = options.Value;
        _logger = logger;
        _channel = BackplaneChannel.For(_options.ChannelPrefix, typeof(THub));
        _invocationIdPrefix = _node.ToString("N")[..12] + ":";
        // Serialised for the protocols the hub's clients may speak, as SignalR resolves them: the hub's, else the global ones.
        var supported = hubOptions.Value.SupportedProtocols ?? globalHubOptions.Value.SupportedProtocols;
        _protocols = [.. protocolResolver.AllProtocols.Where(protocol => supported is null || supported.Contains(protocol.Name, StringComparer.OrdinalIgnoreCase))];

        _registration = consumers.Register(_channel, this);
        // Read after registering, so it covers this channel's LISTEN.
        _listening = listened.WaitUntilListeningAsync(listened.Version, _stopping.Token);
        _ = Task.Run(() => ReceiveAsync(_stopping.Token));
        Log.BackplaneStarted(_logger, _hubName, _channel, _node);
    }

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        // Until the channel is LISTENed this node would miss what is sent to the connection.
        await _listening.WaitAsync(connection.ConnectionAborted);
        connection.Items[GroupsKey] = new HashSet<string>(StringComparer.Ordinal);
        lock (_membership)
        {
            _connections.Add(connection);
            if (connection.UserIdentifier is { Length: > 0 } user)
            {
                _users.GetOrAdd(user, static _ => new HubConnectionStore()).Add(connection);
            }
        }
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        lock (_membership)
        {
            _connections.Remove(connection);
            if (connection.Items.TryGetValue(GroupsKey, out var groups))
            {
                foreach (var group in (HashSet<string>)groups!)
                {
                    RemoveFromStore(_groups, group, connection);
                }
            }

            if (connection.UserIdentifier is { Length: > 0 } user)
            {
                RemoveFromStore(_users, user, connection);
            }
        }

        return _results.FailConnectionAsync(connection.ConnectionId);
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        PublishInvocationAsync(BackplaneAudience.All, [], null, methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        PublishInvocationAsync(BackplaneAudience.All, [], excludedConnectionIds, methodName, args, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        // Sticky sessions keep a connection on one node, so a local one needs no round trip through PostgreSQL.
        if (_connections[connectionId] is { } connection)
        {
            return connection.WriteAsync(new InvocationMessage(methodName, args), cancellationToken).AsTask();
        }

        return PublishInvocationAsync(BackplaneAudience.Connections, [connectionId], null, methodName, args, cancellationToken);
    }

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionIds);
        return PublishInvocationAsync(BackplaneAudience.Connections, connectionIds, null, methodName, args, cancellationToken);
    }

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        return PublishInvocationAsync(BackplaneAudience.Groups, [groupName], null, methodName, args, cancellationToken);
    }

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupNames);
        return PublishInvocationAsync(BackplaneAudience.Groups, groupNames, null, methodName, args, cancellationToken);
    }

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        return PublishInvocationAsync(BackplaneAudience.Groups, [groupName], excludedConnectionIds, methodName, args, cancellationToken);
    }

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return PublishInvocationAsync(BackplaneAudience.Users, [userId], null, methodName, args, cancellationToken);
    }

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        return PublishInvocationAsync(BackplaneAudience.Users, userIds, null, methodName, args, cancellationToken);
    }

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        ChangeGroupAsync(connectionId, groupName, GroupAction.Add, cancellationToken);

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        ChangeGroupAsync(connectionId, groupName, GroupAction.Remove, cancellationToken);

    public override async Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(methodName);
        var invocationId = _invocationIdPrefix + Interlocked.Increment(ref _lastInvocationId).ToString(CultureInfo.InvariantCulture);
        var result = _results.Add<T>(invocationId, connectionId);
        try
        {
            var message = new InvocationMessage(invocationId, methodName, args);
            if (_connections[connectionId] is { } connection)
            {
                await connection.WriteAsync(message, cancellationToken);
            }
            else
            {
                await PublishAsync(
                    BackplaneFrame.Invocation(_node, NextSequence(), BackplaneAudience.Connections, [connectionId], null, invocationId, Serialize(message)),
                    cancellationToken);
            }

            return await result.WaitAsync(cancellationToken);
        }
        finally
        {
            _results.Remove(invocationId);
        }
    }

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        _results.CompleteAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        _results.TryGetReturnType(invocationId, out type);

    void IChannelConsumer.OnNotification(string payload)
    {
        if (_received.Writer.TryWrite(payload))
        {
            return;
        }

        if (Interlocked.Exchange(ref _dropping, 1) == 0)
        {
            Log.BackplaneReceiveQueueFull(_logger, _hubName, ReceiveQueueCapacity);
        }
        else
        {
            Log.BackplaneMessageDropped(_logger, _hubName);
        }
    }

    void IChannelConsumer.OnListenerReconnected() => Log.BackplaneMessagesLost(_logger, _hubName);

    public void Dispose()
    {
        _registration.Dispose();
        _received.Writer.TryComplete();
        _stopping.Cancel();
        foreach (var ack in _acks.Values)
        {
            ack.TrySetCanceled();
        }
    }

    private long NextSequence() => Interlocked.Increment(ref _sequence);

    private Task PublishAsync(byte[] frame, CancellationToken cancellationToken) =>
        _publisher.PublishAsync(_channel, frame, cancellationToken);

    private Task PublishInvocationAsync(
        BackplaneAudience audience,
        IReadOnlyList<string> targets,
        IReadOnlyList<string>? excluded,
        string methodName,
        object?[] args,
        CancellationToken cancellationToken)
    {
        if (audience != BackplaneAudience.All && targets.Count == 0)
        {
            return Task.CompletedTask;
        }

        var messages = Serialize(new InvocationMessage(methodName, args));
        return PublishAsync(BackplaneFrame.Invocation(_node, NextSequence(), audience, targets, excluded, null, messages), cancellationToken);
    }

    private SerializedMessage[] Serialize(HubMessage message) =>
        [.. _protocols.Select(protocol => new SerializedMessage(protocol.Name, protocol.GetMessageBytes(message)))];

    private async Task ChangeGroupAsync(string connectionId, string groupName, GroupAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        if (_connections[connectionId] is { } connection)
        {
            ChangeLocalGroup(connection, groupName, action);
            return;
        }

        var ackId = Interlocked.Increment(ref _lastAckId);
        var ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _acks[ackId] = ack;
        try
        {
            await PublishAsync(BackplaneFrame.GroupCommand(_node, NextSequence(), ackId, action, groupName, connectionId), cancellationToken);
            await ack.Task.WaitAsync(_options.AckTimeout, cancellationToken);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException(
                $"No node acknowledged {(action == GroupAction.Add ? "adding" : "removing")} connection '{connectionId}' "
                + $"{(action == GroupAction.Add ? "to" : "from")} group '{groupName}' within {_options.AckTimeout} "
                + "(PgNotifyHub:Backplane:AckTimeout): the connection does not exist, or its node does not receive the hub's channel.",
                exception);
        }
        finally
        {
            _acks.TryRemove(ackId, out _);
        }
    }

    private void ChangeLocalGroup(HubConnectionContext connection, string groupName, GroupAction action)
    {
        lock (_membership)
        {
            // A command that arrives after the connection closed must not leave it in a group.
            if (_connections[connection.ConnectionId] is null || !connection.Items.TryGetValue(GroupsKey, out var items))
            {
                return;
            }

            var groups = (HashSet<string>)items!;
            if (action == GroupAction.Add)
            {
                if (groups.Add(groupName))
                {
                    _groups.GetOrAdd(groupName, static _ => new HubConnectionStore()).Add(connection);
                }
            }
            else if (groups.Remove(groupName))
            {
                RemoveFromStore(_groups, groupName, connection);
            }
        }
    }

    private static void RemoveFromStore(ConcurrentDictionary<string, HubConnectionStore> stores, string key, HubConnectionContext connection)
    {
        if (stores.TryGetValue(key, out var store))
        {
            store.Remove(connection);
            if (store.Count == 0)
            {
                stores.TryRemove(key, out _);
            }
        }
    }

    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        // Messages are handled one after the other, but the writes of one need not finish before the next is
        // handled: one socket slow to flush would hold every other connection's next message back. A connection
        // still gets them in order, as its writes queue on its own lock in the order they were issued.
        var inFlight = new Queue<Task>();
        try
        {
            await foreach (var payload in _received.Reader.ReadAllAsync(stoppingToken))
            {
                foreach (var text in BackplanePayload.Split(payload))
                {
                    try
                    {
                        if (await ReadFrameAsync(text, stoppingToken) is { } frame)
                        {
                            inFlight.Enqueue(HandleAsync(frame));
                        }
                    }
                    catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                    {
                        Log.BackplaneMessageFailed(_logger, exception, _hubName);
                    }

                    while (inFlight.TryPeek(out var oldest) && (oldest.IsCompleted || inFlight.Count > MaxHandlingInFlight))
                    {
                        await ObserveAsync(inFlight.Dequeue());
                    }
                }

                if (_received.Reader.Count == 0)
                {
                    Volatile.Write(ref _dropping, 0);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ObserveAsync(Task handling)
    {
        try
        {
            await handling;
        }
        catch (Exception exception) when (!_stopping.IsCancellationRequested)
        {
            Log.BackplaneMessageFailed(_logger, exception, _hubName);
        }
    }

    private async Task<BackplaneFrame?> ReadFrameAsync(string text, CancellationToken cancellationToken)
    {
        if (BackplanePayload.SpilledId(text) is not { } id)
        {
            return BackplaneFrame.Read(Convert.FromBase64String(text));
        }

        // Awaited in line: a large message delays the ones behind it, but never overtakes or is overtaken.
        if (await _database.ReadSpilledAsync(id, cancellationToken) is { } bytes)
        {
            return BackplaneFrame.Read(bytes);
        }

        Log.BackplaneSpillMissing(_logger, _hubName, id, _options.SpillRetention);
        return null;
    }

    private Task HandleAsync(BackplaneFrame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Invocation:
                return DeliverAsync(frame);
            case FrameKind.GroupCommand:
                if (_connections[frame.ConnectionId] is { } connection)
                {
                    ChangeLocalGroup(connection, frame.Group, frame.GroupAction);
                    return PublishAsync(BackplaneFrame.Ack(_node, NextSequence(), frame.Sender, frame.AckId), _stopping.Token);
                }

                return Task.CompletedTask;
            case FrameKind.Ack:
                if (frame.Recipient == _node && _acks.TryRemove(frame.AckId, out var ack))
                {
                    ack.TrySetResult();
                }

                return Task.CompletedTask;
            case FrameKind.Completion:
                return frame.Recipient == _node ? CompleteForwardedAsync(frame) : Task.CompletedTask;
            default:
                return Task.CompletedTask;
        }
    }

    private Task DeliverAsync(BackplaneFrame frame)
    {
        var message = new SerializedHubMessage(frame.Messages);
        List<Task>? writes = null;
        switch (frame.Audience)
        {
            case BackplaneAudience.All:
                foreach (var connection in _connections)
                {
                    Write(connection, message, frame.Excluded, ref writes);
                }

                break;
            case BackplaneAudience.Connections:
                foreach (var connectionId in frame.Targets)
                {
                    if (_connections[connectionId] is not { } connection)
                    {
                        continue;
                    }

                    if (frame.InvocationId is { } invocationId)
                    {
                        _results.AddRelayed(invocationId, connectionId, completion => ForwardCompletionAsync(frame.Sender, connection, completion));
                    }

                    Write(connection, message, frame.Excluded, ref writes);
                }

                break;
            case BackplaneAudience.Groups:
                WriteToStores(_groups, frame, message, ref writes);
                break;
            case BackplaneAudience.Users:
                WriteToStores(_users, frame, message, ref writes);
                break;
        }

        return writes is null ? Task.CompletedTask : Task.WhenAll(writes);
    }

    private static void WriteToStores(ConcurrentDictionary<string, HubConnectionStore> stores, BackplaneFrame frame, SerializedHubMessage message, ref List<Task>? writes)
    {
        foreach (var key in frame.Targets)
        {
            if (stores.TryGetValue(key, out var store))
            {
                foreach (var connection in store)
                {
                    Write(connection, message, frame.Excluded, ref writes);
                }
            }
        }
    }

    // Only writes that did not complete at once are awaited, so a broadcast to idle sockets allocates no task each.
    private static void Write(HubConnectionContext connection, SerializedHubMessage message, IReadOnlyList<string> excluded, ref List<Task>? writes)
    {
        if (excluded.Count > 0 && excluded.Contains(connection.ConnectionId))
        {
            return;
        }

        var write = connection.WriteAsync(message);
        if (!write.IsCompletedSuccessfully)
        {
            (writes ??= []).Add(write.AsTask());
        }
    }

    private Task ForwardCompletionAsync(Guid requester, HubConnectionContext connection, CompletionMessage completion) =>
        PublishAsync(
            BackplaneFrame.Completion(_node, NextSequence(), requester, connection.ConnectionId, connection.Protocol.Name, connection.Protocol.GetMessageBytes(completion)),
            _stopping.Token);

    private Task CompleteForwardedAsync(BackplaneFrame frame)
    {
        var protocol = _protocolResolver.GetProtocol(frame.Protocol, null)
            ?? throw new InvalidDataException($"A client result came in protocol '{frame.Protocol}', which this node does not have.");
        var bytes = new ReadOnlySequence<byte>(frame.Payload);
        if (!protocol.TryParseMessage(ref bytes, _results, out var message) || message is not CompletionMessage completion)
        {
            throw new InvalidDataException($"A client result in protocol '{frame.Protocol}' is not a completion message.");
        }

        return _results.CompleteAsync(frame.ConnectionId, completion);
    }
}
