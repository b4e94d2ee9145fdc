using System.Net;
using System.Reflection;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PgNotifyHub.IntegrationTests.Deployment;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server published as a Native AOT binary, the way docs/PERFORMANCE.md says to build it: the publish
/// gives no trim or AOT warning, and the binary answers <c>--version</c> and <c>--help</c>, becomes ready, delivers a
/// NOTIFY to a pgws socket, a sequenced socket (with its position frame) and a SignalR client (with its position), and
/// checks bearer tokens. Each of these leans on code that trimming or the lack of a JIT could break: settings read by
/// reflection, source-generated JSON, the token handler's metadata.
/// </summary>
[Collection(SharedPostgres.Name)]
[SupportedOSPlatform("linux")]
public sealed class NativeAotServerTests(PostgresFixture postgres, NativeAotServer aot) : IClassFixture<NativeAotServer>
{
    [Fact]
    public void Native_AOT_publish_gives_no_trim_or_AOT_warning() =>
        Assert.Empty(aot.TrimAndAotWarnings);

    [Fact]
    public void The_AOT_image_recipe_runs_on_runtime_deps_with_the_port_user_and_environment_of_the_JIT_image()
    {
        var jit = DockerfileRecipe.Load(Repository.File("deploy/Dockerfile"));
        var aot = DockerfileRecipe.Load(Repository.File("deploy/Dockerfile.aot"));

        Assert.Equal("mcr.microsoft.com/dotnet/runtime-deps:10.0", aot.BaseImage);
        Assert.Equal(jit.Environment, aot.Environment);
        Assert.Equal(jit.ExposedPorts, aot.ExposedPorts);
        Assert.Equal(jit.User, aot.User);
        Assert.Equal(jit.WorkingDirectory, aot.WorkingDirectory);
    }

    [Fact]
    public async Task Native_AOT_server_answers_version_and_help_with_every_nested_setting()
    {
        var version = await ServerProcess.RunToExitAsync(new ServerLaunch { Command = [aot.Executable], Urls = null, Arguments = ["--version"], WorkingDirectory = aot.Directory });
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal(
            [typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion],
            version.StandardOutput.Where(line => line.Length > 0));
        // --help reads the settings types and their documentation by reflection: nested sections must survive trimming.
        var help = await ServerProcess.RunToExitAsync(new ServerLaunch { Command = [aot.Executable], Urls = null, Arguments = ["--help"], WorkingDirectory = aot.Directory });
        Assert.Contains(help.StandardOutput, line => line.Contains("PgNotifyHub:Outbox:Enabled", StringComparison.Ordinal));
        Assert.Contains(help.StandardOutput, line => line.Contains("Authentication:Jwt:SigningKey", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Native_AOT_server_becomes_ready_and_delivers_a_notify_to_raw_and_SignalR_clients()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        await using var server = await StartAsync(channel, new() { ["Authentication:AllowAnonymous"] = "true" });
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

        AssertNothingFailed(server);
    }

    [Fact]
    public async Task Native_AOT_server_refuses_a_missing_or_forged_token_and_accepts_its_own()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        var signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        await using var server = await StartAsync(channel, new() { ["Authentication:Jwt:SigningKey"] = signingKey });
        var forged = Token(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

        Assert.Equal(HttpStatusCode.Unauthorized, await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", accessToken: null, cancellationToken).OrTimeout());
        Assert.Equal(HttpStatusCode.Unauthorized, await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", forged, cancellationToken).OrTimeout());
        var refusal = await Assert.ThrowsAnyAsync<Exception>(
            () => SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, accessToken: forged).OrTimeout());
        Assert.Contains("401", refusal.ToString(), StringComparison.Ordinal);

        await using var signedIn = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, accessToken: Token(signingKey), cancellationToken: cancellationToken).OrTimeout();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload(PgNotifyHubOptions.DefaultAudience, marker), cancellationToken);
        Assert.Empty(await signedIn.ReceiveUntilMarkerAsync(marker));
        AssertNothingFailed(server);
    }

    private static string Token(string signingKey) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Expires = DateTime.UtcNow.AddMinutes(5),
        Claims = new Dictionary<string, object> { ["sub"] = "test-user" },
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
    });

    private static void AssertNothingFailed(ServerProcess server) =>
        Assert.DoesNotContain(server.Output.Split('\n'), line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal));

    private async Task<ServerProcess> StartAsync(string channel, Dictionary<string, string> settings)
    {
        settings["ConnectionStrings:Postgres"] = postgres.ConnectionString;
        settings["PgNotifyHub:Channels:0"] = channel;
        var server = await ServerProcess.StartAsync(new ServerLaunch { Command = [aot.Executable], WorkingDirectory = aot.Directory, Settings = settings });
        await server.WaitForLineAsync(line => line.Contains("listener is listening on channels", StringComparison.Ordinal)).OrTimeout();
        return server;
    }
}
