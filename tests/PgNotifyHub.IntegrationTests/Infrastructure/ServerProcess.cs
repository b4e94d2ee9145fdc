using System.Diagnostics;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The standalone server as an operator runs it: its own process (<c>dotnet PgNotifyHub.Server.dll</c> from this
/// test's output, where the build copied it with clients/browser), configured only through environment variables,
/// on Kestrel at http://127.0.0.1 and a port it picks unless one is given. Any other ASP.NET Core application can be
/// run the same way (<see cref="StartApplicationAsync"/>).
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const string ListeningLine = "Now listening on: ";

    private readonly Process _process;
    private readonly string _application;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly List<string> _output = [];
    private readonly List<(string Text, TaskCompletionSource Printed)> _waits = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(string application, IReadOnlyDictionary<string, string> settings, int port)
    {
        _application = application;
        _settings = settings;
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(application)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(application);
        startInfo.ArgumentList.Add("--urls");
        startInfo.ArgumentList.Add($"http://127.0.0.1:{port}");
        // Settings as environment variables, so a connection string with a password never shows in a process list.
        foreach (var (key, value) in settings)
        {
            startInfo.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        _process = new Process { StartInfo = startInfo };
        _process.OutputDataReceived += (_, line) => Record(line.Data);
        _process.ErrorDataReceived += (_, line) => Record(line.Data);
    }

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The server's process id, to read its resources from /proc.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the server has printed so far, for assertions and failure messages.</summary>
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

    /// <summary>Starts the server and waits until Kestrel listens.</summary>
    /// <param name="settings">Configuration keys (<c>PgNotifyHub:Channels:0</c>) and values.</param>
    /// <param name="port">0 to let Kestrel pick a free port.</param>
    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> settings, int port = 0) =>
        StartApplicationAsync(Path.Combine(AppContext.BaseDirectory, "PgNotifyHub.Server.dll"), settings, port);

    /// <summary>Starts the ASP.NET Core application <paramref name="application"/> (its dll, run from its folder) and waits until Kestrel listens.</summary>
    public static async Task<ServerProcess> StartApplicationAsync(string application, IReadOnlyDictionary<string, string> settings, int port = 0)
    {
        var server = new ServerProcess(application, settings, port);
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var exited = server._process.WaitForExitAsync(TestContext.Current.CancellationToken);
        var first = await Task.WhenAny(server._listening.Task, exited).OrTimeout();
        if (first != server._listening.Task)
        {
            throw new InvalidOperationException($"The server exited with code {server._process.ExitCode} before listening:{Environment.NewLine}{server.Output}");
        }

        server.BaseUri = await server._listening.Task;
        return server;
    }

    /// <summary>Kills the process outright, as a crash or an OOM kill would, and starts it again on the same port.</summary>
    public async Task<ServerProcess> KillAndRestartAsync(Func<Task>? whileDown = null)
    {
        await KillAsync();
        if (whileDown is not null)
        {
            await whileDown();
        }

        return await StartApplicationAsync(_application, _settings, BaseUri.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).OrTimeout();
    }

    /// <summary>Completes once the process has printed a line that contains <paramref name="text"/>, already or later.</summary>
    public Task WaitForOutputAsync(string text)
    {
        var printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                return Task.CompletedTask;
            }

            _waits.Add((text, printed));
        }

        return printed.Task.OrTimeout();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            foreach (var wait in _waits.Where(wait => line.Contains(wait.Text, StringComparison.Ordinal)).ToArray())
            {
                wait.Printed.TrySetResult();
                _waits.Remove(wait);
            }
        }

        var at = line.IndexOf(ListeningLine, StringComparison.Ordinal);
        if (at >= 0)
        {
            _listening.TrySetResult(new Uri(line[(at + ListeningLine.Length)..].Trim()));
        }
    }
}
