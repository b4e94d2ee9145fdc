using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The connections of one hub on this node, by id, group and user: what a frame received from the backplane is
/// delivered to. Group membership lives here, on the node that holds the connection.
/// </summary>
internal sealed class LocalConnections
{
    private static readonly object GroupsKey = new();

    private readonly HubConnectionStore _connections = new();
    private readonly ConcurrentDictionary<string, HubConnectionStore> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HubConnectionStore> _users = new(StringComparer.Ordinal);
    private readonly Lock _membership = new();

    /// <summary>The connection with this id, when this node holds it.</summary>
    public HubConnectionContext? this[string connectionId] => _connections[connectionId];

    public void Add(HubConnectionContext connection)
    {
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

    public void Remove(HubConnectionContext connection)
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
    }

    public void ChangeGroup(HubConnectionContext connection, string groupName, GroupAction action)
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

    /// <summary>
    /// Writes an invocation to the frame's recipients on this node; completes when every write that did not complete
    /// at once has. <paramref name="onRecipient"/> sees each connection addressed by id before it is written to.
    /// </summary>
    public Task DeliverAsync(BackplaneFrame frame, Action<HubConnectionContext>? onRecipient)
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

                    onRecipient?.Invoke(connection);
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
}
