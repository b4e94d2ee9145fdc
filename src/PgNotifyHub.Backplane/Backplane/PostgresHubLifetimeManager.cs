using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
/// per group, connection and user: see <see cref="BackplaneChannel"/>. The parts: the <see cref="BackplaneReceiver"/>
/// receives, the <see cref="LocalConnections"/> deliver, the <see cref="GroupAcknowledgements"/> and the
/// <see cref="ClientResults"/> wait for other nodes' answers.
/// </remarks>
internal sealed class PostgresHubLifetimeManager<THub> : HubLifetimeManager<THub>, IDisposable, IAsyncDisposable
    where THub : Hub
{
    private readonly LocalConnections _connections = new();
    private readonly GroupAcknowledgements _acks = new();
    private readonly ClientResults _results = new();
    private readonly Guid _node = Guid.NewGuid();
    private readonly string _channel;
    private readonly string _invocationIdPrefix;
    private readonly IReadOnlyList<IHubProtocol> _protocols;
    private readonly IHubProtocolResolver _protocolResolver;
    private readonly BackplanePublisher _publisher;
    private readonly PgNotifyHubBackplaneOptions _options;
    private readonly BackplaneReceiver _receiver;
    private readonly Task _listening;
    private long _sequence;
    private long _lastInvocationId;

    public PostgresHubLifetimeManager(
        BackplanePublisher publisher,
        BackplaneDatabase database,
        ChannelConsumers consumers,
        ListenedChannels listened,
        IHubProtocolResolver protocolResolver,
        IOptions<HubOptions> globalHubOptions,
        IOptions<HubOptions<THub>> hubOptions,
        IOptions<PgNotifyHubBackplaneOptions> options,
        ILogger<PostgresHubLifetimeManager<THub>> logger)
    {
        _publisher = publisher;
        _protocolResolver = protocolResolver;
        _options = options.Value;
        var hubName = typeof(THub).FullName ?? typeof(THub).Name;
        _channel = BackplaneChannel.For(_options.ChannelPrefix, typeof(THub));
        _invocationIdPrefix = _node.ToString("N")[..12] + ":";
        // Serialised for the protocols the hub's clients may speak, as SignalR resolves them: the hub's, else the global ones.
        var supported = hubOptions.Value.SupportedProtocols ?? globalHubOptions.Value.SupportedProtocols;
        _protocols = [.. protocolResolver.AllProtocols.Where(protocol => supported is null || supported.Contains(protocol.Name, StringComparer.OrdinalIgnoreCase))];

        _receiver = new BackplaneReceiver(hubName, _channel, consumers, database, _options.SpillRetention, HandleAsync, logger);
        // Read after registering, so it covers this channel's LISTEN.
        _listening = listened.WaitUntilListeningAsync(listened.Version, _receiver.Stopping);
        Log.BackplaneStarted(logger, hubName, _channel, _node);
    }

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        // Until the channel is LISTENed this node would miss what is sent to the connection.
        await _listening.WaitAsync(connection.ConnectionAborted);
        _connections.Add(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        _connections.Remove(connection);
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

    /// <summary>Stops receiving without waiting; <see cref="DisposeAsync"/> also waits for the receive loop to end.</summary>
    public void Dispose()
    {
        _receiver.Stop();
        _acks.CancelAll();
    }

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _acks.CancelAll();
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
            _connections.ChangeGroup(connection, groupName, action);
            return;
        }

        var ackId = _acks.Expect(out var acknowledged);
        try
        {
            await PublishAsync(BackplaneFrame.GroupCommand(_node, NextSequence(), ackId, action, groupName, connectionId), cancellationToken);
            await acknowledged.WaitAsync(_options.AckTimeout, cancellationToken);
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
            _acks.Forget(ackId);
        }
    }

    private Task HandleAsync(BackplaneFrame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Invocation:
                return _connections.DeliverAsync(
                    frame,
                    frame.InvocationId is { } invocationId
                        ? connection => _results.AddRelayed(invocationId, connection.ConnectionId, completion => ForwardCompletionAsync(frame.Sender, connection, completion))
                        : null);
            case FrameKind.GroupCommand:
                if (_connections[frame.ConnectionId] is { } connection)
                {
                    _connections.ChangeGroup(connection, frame.Group, frame.GroupAction);
                    return PublishAsync(BackplaneFrame.Ack(_node, NextSequence(), frame.Sender, frame.AckId), _receiver.Stopping);
                }

                return Task.CompletedTask;
            case FrameKind.Ack:
                if (frame.Recipient == _node)
                {
                    _acks.Acknowledge(frame.AckId);
                }

                return Task.CompletedTask;
            case FrameKind.Completion:
                return frame.Recipient == _node ? CompleteForwardedAsync(frame) : Task.CompletedTask;
            default:
                return Task.CompletedTask;
        }
    }

    private Task ForwardCompletionAsync(Guid requester, HubConnectionContext connection, CompletionMessage completion) =>
        PublishAsync(
            BackplaneFrame.Completion(_node, NextSequence(), requester, connection.ConnectionId, connection.Protocol.Name, connection.Protocol.GetMessageBytes(completion)),
            _receiver.Stopping);

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
