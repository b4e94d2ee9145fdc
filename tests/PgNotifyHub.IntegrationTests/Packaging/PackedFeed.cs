using System.Globalization;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Packaging;

/// <summary>
/// The repository's packages as a user gets them: <c>dotnet pack</c> of the solution into a folder of its own, under a
/// version no earlier run used (so NuGet's cache of an earlier build is never taken for this one), and applications made
/// from the <c>web</c> template that install them from that folder and the rest from NuGet.
/// </summary>
public sealed class PackedFeed : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    private readonly string _root = Directory.CreateTempSubdirectory("pgnotifyhub-packages-").FullName;

    public string Version { get; } = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + Random.Shared.Next(1000, 9999).ToString(CultureInfo.InvariantCulture);

    public string Folder => Path.Combine(_root, "feed");

    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "PgNotifyHub.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException("The repository root (with PgNotifyHub.sln) is not above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The packable projects: every library under <c>src/</c>; the standalone server is not a package.</summary>
    public static IEnumerable<string> PackableProjects =>
        Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(project => File.ReadAllText(project).Contains("<IsPackable>true</IsPackable>", StringComparison.Ordinal));

    // Project by project rather than the solution, which would build every test project in Release too.
    public async ValueTask InitializeAsync()
    {
        foreach (var project in PackableProjects)
        {
            await RunAsync(["pack", project, "-c", "Release", "-o", Folder, "-p:Version=" + Version], RepositoryRoot);
        }
    }

    /// <summary>
    /// A new application from <c>dotnet new <paramref name="template"/></c>, with <paramref name="packages"/> of this
    /// feed added and the other NuGet packages given with their versions; returns its folder.
    /// </summary>
    public async Task<string> CreateApplicationAsync(string name, IReadOnlyList<string> packages, IReadOnlyDictionary<string, string>? otherPackages = null, string template = "web")
    {
        var folder = Path.Combine(_root, name);
        await RunAsync(["new", template, "--name", name, "--output", folder], _root);
        // Adds the feed to the sources the user already has, as the README tells users to do: nothing is cleared.
        await File.WriteAllTextAsync(
            Path.Combine(folder, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="pgnotifyhub-test" value="{Folder}" />
              </packageSources>
            </configuration>
            """);
        foreach (var package in packages)
        {
            await RunAsync(["add", "package", package, "--version", Version], folder);
        }

        foreach (var (package, version) in otherPackages ?? new Dictionary<string, string>())
        {
            await RunAsync(["add", "package", package, "--version", version], folder);
        }

        return folder;
    }

    /// <summary>Builds the application; returns the path of its dll.</summary>
    public static async Task<string> BuildAsync(string folder)
    {
        await RunAsync(["build", "-c", "Release", "-o", Path.Combine(folder, "out")], folder);
        return Path.Combine(folder, "out", Path.GetFileName(folder) + ".dll");
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A process of the run may still hold a file; the temporary folder is cleaned with the machine.
        }

        return ValueTask.CompletedTask;
    }

    private static Task<string> RunAsync(IEnumerable<string> arguments, string workingDirectory) =>
        ProcessRunner.RunAsync(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", arguments, CommandTimeout, TestContext.Current.CancellationToken, workingDirectory);
}
