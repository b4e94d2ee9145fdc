using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// The server under test: PgNotifyHub.Server started as a child process (<c>dotnet PgNotifyHub.Server.dll</c>, so its
/// process id is the server's own), or a running server given by URL. Its output goes to a log file, and its
/// warnings are counted so that each run can report those it caused.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process? _process;
    private readonly StreamWriter? _log;
    private readonly Lock _logLock = new();
    private readonly string _description;
    private int _warnings;

    private BenchServer(Uri baseUri, int? pid, Process? process, StreamWriter? log, string description)
    {
        BaseUri = baseUri;
        Pid = pid;
        _process = process;
        _log = log;
        _description = description;
    }

    public Uri BaseUri { get; }

    public Uri WebSocketUri => new UriBuilder(new Uri(BaseUri, "/ws")) { Scheme = BaseUri.Scheme == "https" ? "wss" : "ws" }.Uri;

    public Uri HubUri => new(BaseUri, "/hub");

    public Uri EventsUri => new(BaseUri, "/events");

    /// <summary>The server's process id, when known: CPU and memory are read from /proc/PID.</summary>
    public int? Pid { get; private set; }

    /// <summary>For a started server: from starting its process to its first Healthy answer on /readyz (polled every 20 ms).</summary>
    public double? StartupSeconds { get; private set; }

    /// <summary>True for the reference bridge on Bun rather than PgNotifyHub.Server.</summary>
    public bool IsReference { get; private init; }

    /// <summary>True when this benchmark started the server (and may restart it).</summary>
    public bool Owned => _process is not null;

    /// <summary>True when a started server has exited.</summary>
    public bool HasExited => _process is { HasExited: true };

    public string Description => Owned ? $"{_description}, pid {Pid}" : _description;

    /// <summary>Lines logged at warn, fail or crit so far (started servers only).</summary>
    public int Warnings => Volatile.Read(ref _warnings);

    /// <summary>The server's assembly built alongside this project (see the project file), or null.</summary>
    public static string? BuiltAssemblyPath() =>
        typeof(BenchServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "PgNotifyHubServerAssembly")?.Value is { Length: > 0 } path
            ? path
            : null;

    /// <summary>GC settings in the server's runtimeconfig.json and in the environment it gets.</summary>
    public static IReadOnlyDictionary<string, string> GcSettings(string assemblyPath, IEnumerable<KeyValuePair<string, string>> extraEnvironment)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var runtimeConfig = Path.ChangeExtension(assemblyPath, ".runtimeconfig.json");
        if (File.Exists(runtimeConfig) && JsonNode.Parse(File.ReadAllText(runtimeConfig))?["runtimeOptions"]?["configProperties"] is JsonObject properties)
        {
            foreach (var (name, value) in properties)
            {
                if (name.StartsWith("System.GC.", StringComparison.Ordinal))
                {
                    settings[name] = value?.ToJsonString() ?? "null";
                }
            }
        }

        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(entry => new KeyValuePair<string, string>((string)entry.Key, entry.Value as string ?? ""))
            .Concat(extraEnvironment);
        foreach (var (name, value) in environment)
        {
            if (name.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase) || name.StartsWith("DOTNET_GC", StringComparison.Ordinal)
                || name.StartsWith("COMPlus_gc", StringComparison.OrdinalIgnoreCase) || name.Equals("DOTNET_TieredPGO", StringComparison.OrdinalIgnoreCase))
            {
                settings["env " + name] = value;
            }
        }

        return settings;
    }

    /// <summary>
    /// Starts PgNotifyHub.Server: <c>dotnet PgNotifyHub.Server.dll</c>, or the native executable of a Native AOT publish
    /// when <paramref name="serverPath"/> is not a dll.
    /// </summary>
    public static async Task<BenchServer> StartAsync(
        string serverPath,
        string postgresConnectionString,
        string channel,
        IReadOnlyList<KeyValuePair<string, string>> extraSettings,
        string logPath,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(serverPath))
        {
            throw new InvalidOperationException($"The server {serverPath} does not exist: build it, or pass --server-dll.");
        }

        var native = !serverPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        return await StartProcessAsync(
            isReference: false,
            baseUri =>
            {
                var startInfo = new ProcessStartInfo(native ? serverPath : DotnetHost())
                {
                    // The content root is the working directory: appsettings.json is read from there.
                    WorkingDirectory = Path.GetDirectoryName(serverPath)!,
                };
                if (!native)
                {
                    startInfo.ArgumentList.Add(serverPath);
                }

                startInfo.ArgumentList.Add("--urls");
                startInfo.ArgumentList.Add(baseUri.ToString().TrimEnd('/'));
                var environment = startInfo.Environment;
                environment["ASPNETCORE_ENVIRONMENT"] = "Production";
                environment.Remove("DOTNET_ENVIRONMENT");
                environment.Remove("ASPNETCORE_URLS");
                environment["ConnectionStrings__Postgres"] = postgresConnectionString;
                environment["PgNotifyHub__Channels__0"] = channel;
                environment["Audiences__Source"] = "Default";
                environment["Audiences__Default"] = NotifyGenerator.Audience;
                // The benchmark measures delivery, not token validation: its clients connect without tokens.
                environment["Authentication__AllowAnonymous"] = "true";
                environment["Logging__LogLevel__Default"] = "Warning";
                environment["Logging__Console__FormatterName"] = "simple";
                foreach (var (name, value) in extraSettings)
                {
                    environment[name] = value;
                }

                return startInfo;
            },
            baseUri => $"PgNotifyHub.Server{(native ? " (Native AOT)" : "")} at {baseUri} ({serverPath})",
            logPath,
            cancellationToken);
    }

    /// <summary>Starts the reference bridge on Bun (benchmarks/reference/pgws-bun.js), every client in the bench audience.</summary>
    public static Task<BenchServer> StartBunAsync(string bunPath, string scriptPath, string postgresConnectionString, string channel, string logPath, CancellationToken cancellationToken)
    {
        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(postgresConnectionString);
        var credentials = Uri.EscapeDataString(postgres.Username ?? "postgres") + (postgres.Password is { } password ? ":" + Uri.EscapeDataString(password) : "");
        var databaseUrl = $"postgres://{credentials}@{postgres.Host}:{postgres.Port}/{Uri.EscapeDataString(postgres.Database ?? "postgres")}";
        return StartProcessAsync(
            isReference: true,
            baseUri =>
            {
                var startInfo = new ProcessStartInfo(bunPath) { WorkingDirectory = Path.GetDirectoryName(scriptPath)! };
                startInfo.ArgumentList.Add(scriptPath);
                startInfo.Environment["PORT"] = baseUri.Port.ToString(CultureInfo.InvariantCulture);
                startInfo.Environment["DATABASE_URL"] = databaseUrl;
                startInfo.Environment["CHANNEL"] = channel;
                startInfo.Environment["AUDIENCE"] = NotifyGenerator.Audience;
                return startInfo;
            },
            baseUri => $"pgws bridge on Bun at {baseUri} ({bunPath} {scriptPath})",
            logPath,
            cancellationToken);
    }

    private static async Task<BenchServer> StartProcessAsync(bool isReference, Func<Uri, ProcessStartInfo> startInfoFor, Func<Uri, string> describe, string logPath, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var baseUri = new Uri($"http://127.0.0.1:{port}");
            var startInfo = startInfoFor(baseUri);
            startInfo.RedirectStandardOutput = true;
            startInfo.RedirectStandardError = true;
            startInfo.UseShellExecute = false;
            var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
            await log.WriteLineAsync($"---- {DateTime.UtcNow:O} starting {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}");
            var process = new Process { StartInfo = startInfo };
            var started = new BenchServer(baseUri, null, process, log, describe(baseUri)) { IsReference = isReference };
            process.OutputDataReceived += (_, line) => started.OnOutput(line.Data);
            process.ErrorDataReceived += (_, line) => started.OnOutput(line.Data);
            var starting = Stopwatch.StartNew();
            process.Start();
            started.Pid = process.Id;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await WaitUntilHealthyAsync(baseUri, process, logPath, cancellationToken);
                started.StartupSeconds = starting.Elapsed.TotalSeconds;
                return started;
            }
            catch (ServerExitedException) when (attempt < 3)
            {
                // Most likely the port was taken between picking and binding it: try another.
                await started.DisposeAsync();
            }
            catch
            {
                await started.DisposeAsync();
                throw;
            }
        }
    }

    public static async Task<BenchServer> AttachAsync(Uri baseUri, int? pid, CancellationToken cancellationToken)
    {
        await WaitUntilHealthyAsync(baseUri, null, null, cancellationToken);
        return new BenchServer(baseUri, pid, null, null, $"running server at {baseUri}" + (pid is null ? " (no pid: no CPU or memory figures)" : $", pid {pid}"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited)
                {
                    // SIGTERM: the host's graceful shutdown, which closes raw sockets with 1001.
                    await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5), CancellationToken.None);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                    try
                    {
                        await _process.WaitForExitAsync(timeout.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        _process.Kill(entireProcessTree: true);
                        await _process.WaitForExitAsync(CancellationToken.None);
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the signal.
            }
            finally
            {
                _process.Dispose();
            }
        }

        if (_log is not null)
        {
            lock (_logLock)
            {
                _log.Dispose();
            }
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _warnings);
        }

        lock (_logLock)
        {
            try
            {
                _log?.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the server was stopped.
            }
        }
    }

    private static async Task WaitUntilHealthyAsync(Uri baseUri, Process? process, string? logPath, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        string last = "no answer";
        while (deadline.Elapsed < StartTimeout)
        {
            if (process is { HasExited: true })
            {
                throw new ServerExitedException($"The server exited with code {process.ExitCode} before it was healthy; see {logPath}.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
                if (response.StatusCode == HttpStatusCode.OK && last.EndsWith("Healthy", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException exception)
            {
                last = exception.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "timed out";
            }

            await Task.Delay(20, cancellationToken);
        }

        throw new TimeoutException($"{baseUri}readyz was not Healthy within {StartTimeout.TotalSeconds:0} s; last answer: {last}.");
    }

    // `dotnet` of the runtime this benchmark runs on: <root>/shared/Microsoft.NETCore.App/<version>/ → <root>/dotnet.
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ServerExitedException(string message) : Exception(message);
}
