using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster made with the local server binaries: trust authentication (or a password over TCP,
/// when asked for), its socket in its own directory under /tmp, deleted when disposed. PostgreSQL's defaults apply unless settings are given: the
/// tests turn durability off for speed, the load benchmark keeps it, since a commit's WAL flush is part of what a
/// real sender pays.
/// </summary>
internal sealed class LocalPostgresCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _binDirectory;
    private readonly string _dataDirectory;
    private readonly bool _runAsPostgres;
    private readonly string? _password;

    private LocalPostgresCluster(string binDirectory, string dataDirectory, bool runAsPostgres, int port, IReadOnlyList<string> serverOptions, string? password)
    {
        _binDirectory = binDirectory;
        _dataDirectory = dataDirectory;
        _runAsPostgres = runAsPostgres;
        _password = password;
        Port = port;
        ServerOptions = serverOptions;
    }

    public int Port { get; }

    /// <summary>The options given to postgres, as <c>-c name=value</c> pairs and the port and socket ones.</summary>
    public IReadOnlyList<string> ServerOptions { get; }

    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Include Error Detail=true" + (_password is null ? "" : $";Password={_password}");

    public string Description => $"throwaway cluster from {_binDirectory} in {_dataDirectory}, port {Port}";

    /// <summary>The postmaster's process id, read from postmaster.pid; null when it is not running.</summary>
    public int? PostmasterPid
    {
        get
        {
            try
            {
                var firstLine = File.ReadLines(Path.Combine(_dataDirectory, "postmaster.pid")).FirstOrDefault();
                return int.TryParse(firstLine, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>The directory holding initdb and pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH.</summary>
    public static string? FindBinDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return HasServerBinaries(fromEnvironment) ? fromEnvironment : throw new InvalidOperationException(
                $"PG_BIN is '{fromEnvironment}', which does not contain initdb and pg_ctl.");
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(directory => (Directory: Path.Combine(directory, "bin"), Version: ParseVersion(Path.GetFileName(directory))))
                .Where(candidate => candidate.Version is not null && HasServerBinaries(candidate.Directory))
                .OrderByDescending(candidate => candidate.Version)
                .FirstOrDefault();
            if (newest.Directory is not null)
            {
                return newest.Directory;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(HasServerBinaries);
    }

    /// <param name="binDirectory">Where initdb and pg_ctl are.</param>
    /// <param name="extraSettings">Extra <c>name=value</c> settings, each passed as <c>-c</c>.</param>
    /// <param name="cancellationToken">Cancels initdb and the start.</param>
    public static Task<LocalPostgresCluster> StartAsync(string binDirectory, IReadOnlyList<string> extraSettings, CancellationToken cancellationToken) =>
        StartAsync(binDirectory, extraSettings, password: null, cancellationToken);

    /// <summary>
    /// A cluster whose TCP connections must give a password (scram-sha-256), <paramref name="password"/> for postgres;
    /// its own socket still trusts, as a local administrator's would.
    /// </summary>
    public static Task<LocalPostgresCluster> StartWithPasswordAsync(string binDirectory, string password, CancellationToken cancellationToken) =>
        StartAsync(binDirectory, [], password, cancellationToken);

    private static async Task<LocalPostgresCluster> StartAsync(string binDirectory, IReadOnlyList<string> extraSettings, string? password, CancellationToken cancellationToken)
    {
        // initdb refuses to run as root. /tmp (not a root-only temp directory) so that postgres can create it.
        var runAsPostgres = Environment.UserName == "root";
        var dataDirectory = Path.Combine("/tmp", "pgnotifyhub-" + Guid.NewGuid().ToString("N"));
        var cluster = new LocalPostgresCluster(binDirectory, dataDirectory, runAsPostgres, 0, [], password);
        // Readable by postgres, who runs initdb when this runs as root; deleted as soon as initdb has read it.
        var passwordFile = Path.Combine("/tmp", "pgnotifyhub-password-" + Guid.NewGuid().ToString("N"));
        try
        {
            string[] authentication = ["--auth=trust"];
            if (password is not null)
            {
                await File.WriteAllTextAsync(passwordFile, password, cancellationToken);
                authentication = ["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + passwordFile];
            }

            // --no-sync only skips initdb's own flush of the new files; the server's settings stay the defaults.
            await cluster.RunAsync("initdb", ["-D", dataDirectory, .. authentication, "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"], cancellationToken);
            File.Delete(passwordFile);

            // A port picked by binding to 0 can be taken by someone else before postgres binds it: retry.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                string[] serverOptions = ["-p", port.ToString(CultureInfo.InvariantCulture), "-k", dataDirectory, "-c", "listen_addresses=127.0.0.1",
                    .. extraSettings.SelectMany(setting => new[] { "-c", setting })];
                var started = new LocalPostgresCluster(binDirectory, dataDirectory, runAsPostgres, port, serverOptions, password);
                try
                {
                    await started.StartServerAsync(cancellationToken);
                    return started;
                }
                catch (InvalidOperationException exception)
                {
                    if (attempt >= 3)
                    {
                        var logFile = Path.Combine(dataDirectory, "server.log");
                        var log = File.Exists(logFile) ? await File.ReadAllTextAsync(logFile, cancellationToken) : "(no server.log)";
                        throw new InvalidOperationException(exception.Message + Environment.NewLine + "server.log:" + Environment.NewLine + log, exception);
                    }
                }
            }
        }
        catch
        {
            File.Delete(passwordFile);
            cluster.DeleteDataDirectory();
            throw;
        }
    }

    /// <summary>
    /// Starts the server on <see cref="Port"/> with <see cref="ServerOptions"/> and waits until it accepts connections:
    /// when the cluster is made, and again after <see cref="StopAsync"/>.
    /// </summary>
    public Task StartServerAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", [
            "-D", _dataDirectory, "-l", Path.Combine(_dataDirectory, "server.log"), "-w", "-t", "60",
            "-o", string.Join(' ', ServerOptions), "start",
        ], cancellationToken);

    /// <summary>
    /// Stops the server as an administrator or a failover would (fast shutdown: open sessions are ended) and waits
    /// until it is down; the data directory stays, for <see cref="StartServerAsync"/>.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["-D", _dataDirectory, "-m", "fast", "-w", "stop"], cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(_dataDirectory, "postmaster.pid")))
            {
                await RunAsync("pg_ctl", ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
        }
        finally
        {
            DeleteDataDirectory();
        }
    }

    private Task<string> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(_binDirectory, program);
        return _runAsPostgres
            ? ProcessRunner.RunAsync("runuser", ["-u", "postgres", "--", executable, .. arguments], CommandTimeout, cancellationToken)
            : ProcessRunner.RunAsync(executable, arguments, CommandTimeout, cancellationToken);
    }

    private void DeleteDataDirectory()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private static bool HasServerBinaries(string directory) =>
        File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

    private static Version? ParseVersion(string text) =>
        Version.TryParse(text.Contains('.', StringComparison.Ordinal) ? text : text + ".0", out var version) ? version : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
