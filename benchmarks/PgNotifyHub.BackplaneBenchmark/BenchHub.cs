using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>The application hub of the workload: clients join a group, and send to groups through a hub method.</summary>
public sealed class BenchHub : Hub
{
    public const string MessageMethod = "m";

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    /// <param name="group">The group to send to.</param>
    /// <param name="sentAt">The sender's <see cref="System.Diagnostics.Stopwatch"/> timestamp: clients share the process, so its clock.</param>
    /// <param name="payload">Filler of the chosen size.</param>
    public Task Send(string group, long sentAt, string payload) => Clients.Group(group).SendAsync(MessageMethod, sentAt, payload);
}
