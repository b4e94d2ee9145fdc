using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>Takes the user from the <c>X-User</c> request header, so tests need no authentication.</summary>
public sealed class HeaderUserIdProvider : IUserIdProvider
{
    public const string Header = "X-User";

    public string? GetUserId(HubConnectionContext connection) =>
        connection.GetHttpContext()?.Request.Headers[Header].ToString() is { Length: > 0 } user ? user : null;
}
