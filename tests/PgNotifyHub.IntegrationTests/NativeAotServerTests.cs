using System.Net;
using System.Reflection;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;
using PgNotifyHub.IntegrationTests.Deployment;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server published as a Native AOT binary, the way docs/PERFORMANCE.md says to build it: the publish
/// gives no trim or AOT warning, and the binary answers <c>--version</c> and <c>--help</c>, becomes ready, and delivers a
/// NOTIFY to a pgws socket, a sequenced socket (with its position frame) and a SignalR client (with its position).
/// </summary>
/// <remarks>
/// The publish takes three to four minutes on two cores, which the suite's CI budget does not have room for: the test
/// runs when <c>PGNOTIFYHUB_TEST_AOT=1</c>, and reports itself skipped, saying so, otherwise:
/// <c>PGNOTIFYHUB_TEST_AOT=1 dotnet test tests/PgNotifyHub.IntegrationTests --filter Category=NativeAot</c>. It needs
/// clang and zlib1g-dev.
/// </remarks>
[Collection(SharedPostgres.Name)]
[Trait("Category", "NativeAot")]
[SupportedOSPlatform("linux")]
public sealed partial class NativeAotServerTests(PostgresFixture postgres)
{
    private const string OptIn = "PGNOTIFYHUB_TEST_AOT";
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task The_Native_AOT_server_publishes_without_warnings_and_delivers_on_every_transport()
    {
        Assert.SkipUnless(
            Environment.GetEnvironmentVariable(OptIn) == "1",
            $"The Native AOT publish takes minutes: set {OptIn}=1 to run this test (it needs clang and zlib1g-dev).");
        var cancellationToken = TestContext.Current.CancellationToken;
        var directory = Path.Combine(Path.GetTempPath(), "pgnotifyhub-aot-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = await ProcessRunner.RunAsync(
                Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                ["publish", "src/PgNotifyHub.Server", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", directory],
                PublishTimeout,
                cancellationToken,
                workingDirectory: Repository.Root);
            // Warnings are errors in this repository, so a warning fails the publish already; this names them either way.
            Assert.Empty(TrimOrAotWarning().Matches(output).Select(match => match.Value).Distinct());
            var executable = Path.Combine(directory, "PgNotifyHub.Server");
            Assert.True(File.Exists(executable), $"The publish made no {executable}:{Environment.NewLine}{output}");

            var version = await ServerProcess.RunToExitAsync(new ServerLaunch { Command = [executable], Urls = null, Arguments = ["--version"], WorkingDirectory = directory });
            Assert.True(version.ExitCode == 0, version.ToString());
            Assert.Equal(
                [typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion],
                version.StandardOutput.Where(line => line.Length > 0));
            // --help reads the settings types and their documentation by reflection: nested sections must survive trimming.
            var help = await ServerProcess.RunToExitAsync(new ServerLaunch { Command = [executable], Urls = null, Arguments = ["--help"], WorkingDirectory = directory });
            Assert.Contains(help.StandardOutput, line => line.Contains("PgNotifyHub:Outbox:Enabled", StringComparison.Ordinal));
            Assert.Contains(help.StandardOutput, line => line.Contains("Authentication:Jwt:SigningKey", StringComparison.Ordinal));

            var channel = Names.Channel();
            await using var server = await ServerProcess.StartAsync(new ServerLaunch
            {
                Command = [executable],
                WorkingDirectory = directory,
                Settings = new Dictionary<string, string>
                {
                    ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
                    ["PgNotifyHub:Channels:0"] = channel,
                    ["Authentication:AllowAnonymous"] = "true",
                },
            });
            await server.WaitForLineAsync(line => line.Contains("listener is listening on channels", StringComparison.Ordinal)).OrTimeout();
            using var http = new HttpClient { BaseAddress = server.BaseUri };
            using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken).OrTimeout())
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                Assert.StartsWith("Healthy", await ready.Content.ReadAsStringAsync(cancellationToken), StringComparison.Ordinal);
            }

            await using var pgws = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: cancellationToken).OrTimeout();
            await using var sequenced = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, path: "/ws?resume=", subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout();
            await using var signalR = await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, path: "/hub?resume=").OrTimeout();
            // The position notices are the source-generated control frame and hub argument.
            foreach (var client in new NotifyTestClient[] { sequenced, signalR })
            {
                using var position = JsonDocument.Parse(await client.ReceivePositionAsync());
                Assert.Equal(channel, position.RootElement.GetProperty("positions")[0].GetProperty("channel").GetString());
            }

            var marker = Markers.NewId();
            await postgres.NotifyAsync(channel, Markers.Payload(PgNotifyHubOptions.DefaultAudience, marker), cancellationToken);
            foreach (var client in new NotifyTestClient[] { pgws, sequenced, signalR })
            {
                Assert.Empty(await client.ReceiveUntilMarkerAsync(marker));
            }

            Assert.DoesNotContain(server.Output.Split('\n'), line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    // ILLink's and ILC's trim (IL2xxx) and AOT (IL3xxx) diagnostics, as warnings or as errors.
    [GeneratedRegex(@"(warning|error) IL[23]\d{3}[^\r\n]*")]
    private static partial Regex TrimOrAotWarning();
}
