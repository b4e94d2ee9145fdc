using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// The npm package in clients/js, with its dev dependencies installed by <c>npm ci</c> once per lockfile (a clean
/// clone installs them on its first run; later runs find them in its node_modules), and the Node and npm commands
/// run in it.
/// </summary>
internal static class JsPackage
{
    private const string InstalledStamp = ".pgnotifyhub-installed";

    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);

    private static readonly Lazy<Task> Installed = new(InstallAsync);

    /// <summary>clients/js in the source tree, as recorded by the build.</summary>
    public static string Directory { get; } =
        typeof(JsPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "JsPackageDirectory").Value
        ?? throw new InvalidOperationException("The build did not record where clients/js is.");

    /// <summary>The package's own tests, run by <c>node --test</c>: file names that state what they prove.</summary>
    public static IEnumerable<string> TestFiles =>
        System.IO.Directory.EnumerateFiles(Path.Combine(Directory, "test"), "*.test.mjs").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    /// <summary>Runs <c>npm ci</c> unless node_modules matches the lockfile; once per test run.</summary>
    public static Task EnsureInstalledAsync() => Installed.Value;

    /// <summary>Runs a command to its end within <paramref name="timeout"/> and returns its exit code and output (stdout and stderr as they came).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var output = new List<string>();
        void Record(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.Add(line);
                }
            }
        }

        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, line) => Record(line.Data);
        process.ErrorDataReceived += (_, line) => Record(line.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new InvalidOperationException(
                $"Could not start {fileName}: {exception.Message}. The JS package's tests need Node.js 20 or later and npm on the PATH "
                + "(Debian/Ubuntu: apt-get install -y nodejs npm; .ci/run does this).", exception);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"'{fileName} {string.Join(' ', startInfo.ArgumentList)}' did not finish within {timeout}:{Environment.NewLine}{Joined(output)}");
        }

        // The exit can be seen before the last lines are read; this waits for them.
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, Joined(output));
    }

    /// <summary>Like <see cref="RunAsync"/>, and fails with the output unless the command succeeds.</summary>
    public static async Task<string> RunSuccessfullyAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var (exitCode, output) = await RunAsync(fileName, arguments, workingDirectory, timeout);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' in {workingDirectory} exited with {exitCode}:{Environment.NewLine}{output}");
    }

    private static string Joined(List<string> lines)
    {
        lock (lines)
        {
            return string.Join(Environment.NewLine, lines);
        }
    }

    // npm ci deletes node_modules and installs exactly the lockfile, which takes a while and the network; a stamp with
    // the lockfile's hash, written only after it succeeded, lets later runs skip it.
    private static async Task InstallAsync()
    {
        var lockfile = await File.ReadAllBytesAsync(Path.Combine(Directory, "package-lock.json"), TestContext.Current.CancellationToken);
        var expected = Convert.ToHexString(SHA256.HashData(lockfile));
        var stamp = Path.Combine(Directory, "node_modules", InstalledStamp);
        if (File.Exists(stamp) && (await File.ReadAllTextAsync(stamp, TestContext.Current.CancellationToken)).Trim() == expected)
        {
            return;
        }

        await RunSuccessfullyAsync("npm", ["ci", "--no-audit", "--no-fund"], Directory, InstallTimeout);
        await File.WriteAllTextAsync(stamp, expected, TestContext.Current.CancellationToken);
    }
}
