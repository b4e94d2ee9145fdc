using System.Diagnostics;
using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The standalone server as an operator runs it: its own process (<c>dotnet PgNotifyHub.Server.dll</c> from this
/// test's output, where the build copied it with clients/browser, unless the <see cref="ServerLaunch"/> says
/// otherwise), configured through environment variables and arguments only.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const string ListeningLine = "Now listening on: ";

    // Variables that choose the server's addresses: never taken from the test's own environment, only from the launch.
    private static readonly string[] AddressVariables =
        ["ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_HTTPS_PORTS"];

    private readonly Process _process;
    private readonly ServerLaunch _launch;
    private readonly List<string> _output = [];
    private readonly List<string> _standardOutput = [];
    private readonly List<string> _standardError = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Signal)> _lineWaiters = [];

    private ServerProcess(ServerLaunch launch)
    {
        _launch = launch;
        _process = new Process { StartInfo = StartInfo(launch) };
        _process.OutputDataReceived += (_, line) => Record(line.Data, isError: false);
        _process.ErrorDataReceived += (_, line) => Record(line.Data, isError: true);
    }

    /// <summary>The first address the server said it listens on, as it printed it (e.g. <c>http://[::]:8080</c>).</summary>
    public Uri ListeningAddress { get; private set; } = null!;

    /// <summary>Where to reach the server from here: <see cref="ListeningAddress"/>, on 127.0.0.1 when it listens on every address.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The process id of what was started (the server, or the command that runs it), to read its resources from /proc.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the server has printed so far, standard output and error interleaved, for assertions and failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>The lines the server has printed on standard error so far.</summary>
    public IReadOnlyList<string> StandardError
    {
        get
        {
            lock (_output)
            {
                return [.. _standardError];
            }
        }
    }

    /// <summary>Completes with the first line the server printed, or prints later, that matches.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        lock (_output)
        {
            if (_output.FirstOrDefault(match) is { } printed)
            {
                return Task.FromResult(printed);
            }

            var signal = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _lineWaiters.Add((match, signal));
            return signal.Task;
        }
    }

    /// <summary>Starts the server and waits until Kestrel listens.</summary>
    /// <param name="settings">Configuration keys (<c>PgNotifyHub:Channels:0</c>) and values.</param>
    /// <param name="port">0 to let Kestrel pick a free port.</param>
    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> settings, int port = 0) =>
        StartAsync(new ServerLaunch { Settings = settings, Urls = $"http://127.0.0.1:{port}" });

    /// <summary>Starts the server as <paramref name="launch"/> says and waits until Kestrel listens.</summary>
    public static async Task<ServerProcess> StartAsync(ServerLaunch launch)
    {
        var (server, exit) = await StartOrExitAsync(launch);
        return server ?? throw new InvalidOperationException($"The server exited before listening: {exit}");
    }

    /// <summary>Starts the server and waits until Kestrel listens, or until the process exits without listening.</summary>
    public static async Task<(ServerProcess? Server, ServerExit? Exit)> StartOrExitAsync(ServerLaunch launch)
    {
        var server = new ServerProcess(launch);
        server.Start();
        var exited = server._process.WaitForExitAsync(TestContext.Current.CancellationToken);
        var first = await Task.WhenAny(server._listening.Task, exited).OrTimeout();
        if (first != server._listening.Task)
        {
            await using (server)
            {
                return (null, server.ExitOf());
            }
        }

        server.ListeningAddress = await server._listening.Task;
        server.BaseUri = Reachable(server.ListeningAddress);
        return (server, null);
    }

    /// <summary>Runs the server until it exits by itself (a refused start, <c>--help</c>), within <paramref name="timeout"/>.</summary>
    public static async Task<ServerExit> RunToExitAsync(ServerLaunch launch, TimeSpan? timeout = null)
    {
        await using var server = new ServerProcess(launch);
        server.Start();
        try
        {
            await server._process.WaitForExitAsync(TestContext.Current.CancellationToken).OrTimeout(timeout);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message} The server did not exit:{Environment.NewLine}{server.Output}", exception);
        }

        return server.ExitOf();
    }

    /// <summary>Kills the process outright, as a crash or an OOM kill would, and starts it again on the same port.</summary>
    public async Task<ServerProcess> KillAndRestartAsync(Func<Task>? whileDown = null)
    {
        await KillAsync();
        if (whileDown is not null)
        {
            await whileDown();
        }

        return await StartAsync(_launch with { Urls = $"http://127.0.0.1:{BaseUri.Port}" });
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(ServerLaunch launch)
    {
        IReadOnlyList<string> command = launch.User is { } user && Environment.UserName == "root"
            ? ["setpriv", $"--reuid={user}", $"--regid={user}", "--init-groups", "--", .. launch.Command]
            : launch.Command;
        var startInfo = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = launch.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (launch.Urls is { } urls)
        {
            startInfo.ArgumentList.Add("--urls");
            startInfo.ArgumentList.Add(urls);
        }

        foreach (var argument in launch.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (!launch.InheritEnvironment)
        {
            var path = startInfo.Environment["PATH"];
            startInfo.Environment.Clear();
            startInfo.Environment["PATH"] = path;
        }

        foreach (var variable in AddressVariables)
        {
            startInfo.Environment.Remove(variable);
        }

        foreach (var (key, value) in launch.Settings)
        {
            startInfo.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        foreach (var (name, value) in launch.Environment)
        {
            startInfo.Environment[name] = value;
        }

        return startInfo;
    }

    // An address on every interface ([::], 0.0.0.0, *, +) is reached through the loopback; any other as printed.
    private static Uri Reachable(Uri address) =>
        address.Host is "[::]" or "0.0.0.0" or "*" or "+"
            ? new UriBuilder(address) { Host = "127.0.0.1" }.Uri
            : address;

    private ServerExit ExitOf()
    {
        // The exit may be seen before the last lines were read: WaitForExit without a timeout drains both streams.
        _process.WaitForExit();
        lock (_output)
        {
            return new ServerExit(_process.ExitCode, [.. _standardOutput], [.. _standardError]);
        }
    }

    private void Start()
    {
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).OrTimeout();
    }

    private void Record(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            (isError ? _standardError : _standardOutput).Add(line);
            _lineWaiters.RemoveAll(waiter => waiter.Match(line) && waiter.Signal.TrySetResult(line));
        }

        var message = MessageOf(line);
        var at = message.IndexOf(ListeningLine, StringComparison.Ordinal);
        if (at >= 0)
        {
            _listening.TrySetResult(new Uri(message[(at + ListeningLine.Length)..].Trim()));
        }
    }

    // A line of the JSON console formatter holds the message in a property; any other line is the message.
    private static string MessageOf(string line)
    {
        if (!line.StartsWith('{'))
        {
            return line;
        }

        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.TryGetProperty("Message", out var message) ? message.GetString() ?? "" : line;
        }
        catch (JsonException)
        {
            return line;
        }
    }
}
