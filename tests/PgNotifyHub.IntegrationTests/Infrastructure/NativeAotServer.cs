using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using PgNotifyHub.IntegrationTests.Deployment;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The standalone server published once for a test class as a Native AOT binary, with the publish command of
/// deploy/Dockerfile.aot (only its output directory changed), into a directory of its own that is deleted afterwards;
/// <see cref="Executable"/> is that recipe's entry point. The publish takes minutes on two cores, so it is done once
/// and every test of the class starts the same binary.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class NativeAotServer : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(12);

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "pgnotifyhub-aot-" + Guid.NewGuid().ToString("N"));

    public string Executable { get; private set; } = "";

    /// <summary>What the publish printed, for the test of its warnings.</summary>
    public string PublishOutput { get; private set; } = "";

    /// <summary>ILLink's and ILC's trim (IL2xxx) and AOT (IL3xxx) diagnostics in the publish output, each once.</summary>
    public IReadOnlyList<string> TrimAndAotWarnings =>
        [.. TrimOrAotDiagnostic().Matches(PublishOutput).Select(match => match.Value.Trim()).Distinct()];

    public async ValueTask InitializeAsync()
    {
        // ILC compiles to an object file that clang links against zlib; without them the publish fails late and obscurely.
        if (!OnPath("clang") || !File.Exists("/usr/include/zlib.h"))
        {
            throw new InvalidOperationException(
                "The Native AOT publish needs clang and zlib1g-dev, which this machine lacks: apt-get install -y clang zlib1g-dev (.ci/run installs them).");
        }

        var recipe = DockerfileRecipe.Load(Repository.File("deploy/Dockerfile.aot"));
        var output = recipe.PublishArguments.ToList().IndexOf("-o");
        if (output < 0 || recipe.Entrypoint.Count != 1 || !recipe.Entrypoint[0].StartsWith(recipe.WorkingDirectory.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("deploy/Dockerfile.aot must publish with -o into its WORKDIR and run the binary from there.");
        }

        Executable = Path.Combine(Directory, Path.GetFileName(recipe.Entrypoint[0]));
        PublishOutput = await ProcessRunner.RunAsync(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            ["publish", .. recipe.PublishArguments.Select((argument, index) => index == output + 1 ? Directory : argument)],
            PublishTimeout,
            TestContext.Current.CancellationToken,
            workingDirectory: Repository.Root);
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"The Native AOT publish made no {Executable}:{Environment.NewLine}{PublishOutput}");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, command)));

    // As warnings or as errors: warnings are errors in this repository, so a warning already fails the publish.
    [GeneratedRegex(@"(warning|error) IL[23]\d{3}[^\r\n]*")]
    private static partial Regex TrimOrAotDiagnostic();
}
