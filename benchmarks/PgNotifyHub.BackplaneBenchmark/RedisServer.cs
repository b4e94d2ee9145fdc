using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>Debian's redis-server on 127.0.0.1 and a free port, without persistence, stopped when disposed.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private const string Binary = "/usr/bin/redis-server";

    private readonly Process _process;
    private readonly string _directory;

    private RedisServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string Configuration => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Binary))
        {
            Console.WriteLine("redis-server is missing: apt-get install -y redis-server");
            await ProcessRunner.RunAsync("apt-get", ["install", "-y", "redis-server"], TimeSpan.FromMinutes(5), cancellationToken);
        }

        var directory = Directory.CreateTempSubdirectory("pgnotifyhub-redis-").FullName;
        var port = FreePort();
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList =
            {
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--protected-mode", "yes",
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", directory, "--logfile", Path.Combine(directory, "redis.log"),
            },
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        var server = new RedisServer(process, directory, port);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return server;
            }
            catch (SocketException) when (attempt < 100 && !process.HasExited)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
