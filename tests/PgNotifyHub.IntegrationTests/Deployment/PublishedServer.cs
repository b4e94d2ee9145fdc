using System.Runtime.Versioning;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>
/// The server published once for a test class, with the publish command deploy/Dockerfile runs (only its output
/// directory changed), into a directory under /tmp that any user may read: the recipes' image and install paths
/// (/app, /opt/pgnotifyhub) become this one. Also the account the recipes' non-root user becomes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PublishedServer : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(6);

    private readonly List<string> _ownedDirectories = [];

    public string Directory { get; } = Path.Combine("/tmp", "pgnotifyhub-published-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// The system account the recipes' non-root user stands for, created for the run when this test runs as root (as CI
    /// does); null otherwise, and the server runs as this test's own user.
    /// </summary>
    public string? Account { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var dockerfile = DockerfileRecipe.Load(Repository.File("deploy/Dockerfile"));
        var output = dockerfile.PublishArguments.ToList().IndexOf("-o");
        if (output < 0)
        {
            throw new InvalidOperationException("deploy/Dockerfile's dotnet publish names no output directory (-o).");
        }

        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        string[] arguments = ["publish", .. dockerfile.PublishArguments.Select((argument, index) => index == output + 1 ? Directory : argument)];
        await ProcessRunner.RunAsync(System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", arguments, PublishTimeout, cancellationToken, workingDirectory: Repository.Root);

        if (System.Environment.UserName == "root")
        {
            Account = "pgnh-" + Guid.NewGuid().ToString("N")[..10];
            await ProcessRunner.RunAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Account], TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    /// <summary>
    /// Makes a directory under /tmp that the account owns, for what a recipe's platform would create (systemd's
    /// StateDirectory); deleted with the publish directory, once every server of the class has stopped.
    /// </summary>
    public async Task<string> CreateOwnedDirectoryAsync(string purpose)
    {
        var directory = Path.Combine("/tmp", $"pgnotifyhub-{purpose}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        _ownedDirectories.Add(directory);
        if (Account is not null)
        {
            await ProcessRunner.RunAsync("chown", [$"{Account}:{Account}", directory], TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        return directory;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Account is not null)
            {
                await ProcessRunner.RunAsync("userdel", [Account], TimeSpan.FromSeconds(30), CancellationToken.None);
            }
        }
        finally
        {
            foreach (var directory in _ownedDirectories.Append(Directory).Where(System.IO.Directory.Exists))
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
    }
}
