using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A WebSocket handshake written byte by byte over TCP, so a test can send what no client library would: a header
/// repeated, a Host of another name, a header of any size. Returns the status the server answered with.
/// </summary>
public static class RawHandshake
{
    /// <param name="baseUri">The server, http://127.0.0.1:port.</param>
    /// <param name="path">The path and query, e.g. <c>/ws</c>.</param>
    /// <param name="headers">Headers besides the handshake's own, in order, repeats included; a <c>Host</c> here replaces the default.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    public static async Task<HttpStatusCode> SendAsync(Uri baseUri, string path, IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken)
    {
        var lines = new List<(string Name, string Value)>(headers);
        var request = new StringBuilder("GET ").Append(path).Append(" HTTP/1.1\r\n");
        if (!lines.Any(header => header.Name.Equals("Host", StringComparison.OrdinalIgnoreCase)))
        {
            request.Append("Host: ").Append(baseUri.Authority).Append("\r\n");
        }

        request.Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        foreach (var (name, value) in lines)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");

        using var client = new TcpClient();
        await client.ConnectAsync(baseUri.Host, baseUri.Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync(cancellationToken)
            ?? throw new InvalidOperationException("The server closed the connection without an answer.");
        // "HTTP/1.1 403 Forbidden"
        return (HttpStatusCode)int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
    }
}
