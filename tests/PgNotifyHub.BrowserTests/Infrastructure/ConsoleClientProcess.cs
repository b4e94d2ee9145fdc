using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>The sample .NET client (<c>clients/dotnet</c>) run as a real process against a hub URL.</summary>
internal sealed class ConsoleClientProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private ConsoleClientProcess(Uri hubUrl)
    {
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(AssemblyPath);
        startInfo.ArgumentList.Add(hubUrl.AbsoluteUri);
        _process = new Process { StartInfo = startInfo };
        _process.OutputDataReceived += (_, line) => Record(line.Data);
        _process.ErrorDataReceived += (_, line) => Record(line.Data);
    }

    private static string AssemblyPath =>
        typeof(ConsoleClientProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "ConsoleClientAssembly").Value
        ?? throw new InvalidOperationException("The build did not record where the console client was built.");

    /// <summary>Everything printed so far, standard output and error interleaved as received.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines);
            }
        }
    }

    public static ConsoleClientProcess Start(Uri hubUrl)
    {
        var client = new ConsoleClientProcess(hubUrl);
        client._process.Start();
        client._process.BeginOutputReadLine();
        client._process.BeginErrorReadLine();
        return client;
    }

    /// <summary>The first line printed, already or from now on, that contains <paramref name="text"/>.</summary>
    public Task<string> WaitForLineAsync(string text, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        WaitForLineAsync(line => line.Contains(text, StringComparison.Ordinal), skip: 0, filePath, lineNumber);

    /// <summary>The number of lines printed so far: pass it as <c>skip</c> to wait only for new ones.</summary>
    public int LineCount
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    public Task<string> WaitForLineAsync(Func<string, bool> match, int skip, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            var line = _lines.Skip(skip).FirstOrDefault(match);
            if (line is not null)
            {
                return Task.FromResult(line);
            }

            _waiters.Add((match, found));
        }

        return found.Task.OrTimeout(filePath: filePath, lineNumber: lineNumber);
    }

    /// <summary>Sends SIGTERM, as Ctrl+C or a service manager would, and returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).OrTimeout();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> matched;
        lock (_lines)
        {
            _lines.Add(line);
            matched = [.. _waiters.Where(waiter => waiter.Match(line)).Select(waiter => waiter.Found)];
            _waiters.RemoveAll(waiter => matched.Contains(waiter.Found));
        }

        foreach (var found in matched)
        {
            found.TrySetResult(line);
        }
    }
}
