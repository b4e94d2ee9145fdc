using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>The datagram socket systemd gives a <c>Type=notify</c> service in <c>NOTIFY_SOCKET</c>, to hear what the service tells it.</summary>
[SupportedOSPlatform("linux")]
internal sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public NotifySocket()
    {
        Path = System.IO.Path.Combine("/tmp", $"pgnotifyhub-notify-{Guid.NewGuid():N}.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        // The service runs as its own user, which must be allowed to send.
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
    }

    public string Path { get; }

    /// <summary>Completes with the first message that holds <paramref name="assignment"/> (e.g. <c>READY=1</c>) on a line of its own.</summary>
    public async Task<string> ReceiveAsync(string assignment)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().OrTimeout();
            var message = Encoding.UTF8.GetString(buffer, 0, length);
            if (message.Split('\n').Contains(assignment))
            {
                return message;
            }
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
