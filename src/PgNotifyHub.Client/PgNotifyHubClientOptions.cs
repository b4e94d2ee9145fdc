using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.Extensions.Logging;

namespace PgNotifyHub.Client;

/// <summary>
/// How a <see cref="PgNotifyHubClient"/> connects. Read once, by the client's constructor: changes made afterwards do not
/// apply.
/// </summary>
public sealed class PgNotifyHubClientOptions
{
    /// <summary>
    /// Gets the access token for each connection attempt; <see langword="null"/> (the default) sends none. It is called
    /// before every attempt, first and reconnects alike, so return a fresh token when the last one is close to expiring:
    /// the server closes a connection when its token expires, and the client then connects again with a new one. Return
    /// <see langword="null"/> to send no token. The token is sent as a bearer header, and as the <c>access_token</c> query
    /// parameter where the WebSocket transport cannot send headers. An exception fails the attempt, which is retried
    /// after the usual delay. The cancellation token is cancelled when the client stops.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessTokenProvider { get; set; }

    /// <summary>
    /// The first delay before connecting again after a loss or a failed attempt. Default 500 ms. It doubles with each
    /// failed attempt, up to <see cref="ReconnectDelayMax"/>, and each delay is a random 50-100 % of that. Must be
    /// positive.
    /// </summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest delay between attempts. Default 10 s. The delays start over from <see cref="ReconnectDelayMin"/> only
    /// after a connection that stayed up this long, so a server that accepts and at once drops connections is not
    /// hammered. Must be at least <see cref="ReconnectDelayMin"/>.
    /// </summary>
    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the client and SignalR log; <see langword="null"/> (the default) logs nothing. A connection that keeps
    /// failing is logged once at Warning, then at Debug until it connects again.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Configures each SignalR connection further: headers, transports, WebSocket options, an HTTP message handler, a
    /// proxy, client certificates. Called for every connection. The URL (with the client's <c>resume</c> parameter) and,
    /// when <see cref="AccessTokenProvider"/> is set, the access token provider are the client's.
    /// </summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }
}
