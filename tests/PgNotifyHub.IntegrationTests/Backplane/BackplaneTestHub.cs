using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>An application's own hub, scaled out by the backplane under test.</summary>
public sealed class BackplaneTestHub : Hub
{
    public const string MessageMethod = "message";
    public const string AskMethod = "ask";
    public const string NeverAnswerMethod = "neverAnswer";

    public string ConnectionId() => Context.ConnectionId;

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    public Task Leave(string group) => Groups.RemoveFromGroupAsync(Context.ConnectionId, group);

    /// <summary>Adds any connection, possibly one held by another node.</summary>
    public Task AddToGroup(string connectionId, string group) => Groups.AddToGroupAsync(connectionId, group);

    public Task SendToGroup(string group, string message) => Clients.Group(group).SendAsync(MessageMethod, message);
}
