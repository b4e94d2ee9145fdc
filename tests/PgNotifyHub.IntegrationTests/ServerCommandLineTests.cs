using System.Reflection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server process's <c>--help</c> and <c>--version</c>, and the version in its startup log.</summary>
[Collection(SharedPostgres.Name)]
public sealed class ServerCommandLineTests(PostgresFixture postgres)
{
    private static readonly string Version =
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    [Fact]
    public async Task Help_names_every_settable_option_with_its_default_and_a_line_about_it()
    {
        var exit = await ServerProcess.RunToExitAsync(new ServerLaunch { Urls = null, Arguments = ["--help"] });

        Assert.True(exit.ExitCode == 0, exit.ToString());
        Assert.Empty(exit.StandardError);
        var lines = exit.StandardOutput.ToList();
        var keys = Keys(PgNotifyHubOptions.SectionName, typeof(PgNotifyHubOptions)).ToList();
        Assert.Contains("PgNotifyHub:Outbox:ReaderName", keys);
        foreach (var key in keys)
        {
            var at = lines.FindIndex(line => line.StartsWith($"  {key} = ", StringComparison.Ordinal));
            Assert.True(at >= 0, $"--help does not name {key}.");
            var description = lines[at + 1];
            Assert.True(description.StartsWith("      ", StringComparison.Ordinal) && description.Trim().Length > 0, $"--help has no line about {key}.");
            Assert.DoesNotContain("(undocumented)", description, StringComparison.Ordinal);
        }

        // Defaults as this build starts: the shipped appsettings.json where it sets them, else the options' own.
        Assert.Contains("  PgNotifyHub:Channels = [pgws]", lines);
        Assert.Contains("  PgNotifyHub:SendQueueCapacity = 8192", lines);
        Assert.Contains("  PgNotifyHub:ReconnectDelayMax = 00:00:15", lines);
        Assert.Contains("  ConnectionStrings:Postgres = (empty)", lines);
        Assert.Contains("  Authentication:AllowAnonymous = false", lines);
        Assert.Contains("  Audiences:Source = Default", lines);
        Assert.Contains("  Logging:Console:FormatterName = simple", lines);
    }

    [Fact]
    public async Task Version_prints_the_informational_version()
    {
        var exit = await ServerProcess.RunToExitAsync(new ServerLaunch { Urls = null, Arguments = ["--version"] });

        Assert.True(exit.ExitCode == 0, exit.ToString());
        Assert.Equal([Version], exit.StandardOutput.Where(line => line.Length > 0));
        Assert.Empty(exit.StandardError);
    }

    [Fact]
    public async Task The_startup_log_names_the_version()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = Names.Channel(),
            ["Authentication:AllowAnonymous"] = "true",
        });

        Assert.Contains($"PgNotifyHub.Server {Version} starting on .NET {Environment.Version}", server.Output, StringComparison.Ordinal);
    }

    // Every public settable property, at the key configuration binds it from; a nested options class is a section.
    private static IEnumerable<string> Keys(string section, Type options) =>
        options.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.SetMethod is { IsPublic: true })
            .SelectMany(property => property.PropertyType.Name.EndsWith("Options", StringComparison.Ordinal) && property.PropertyType.Namespace == "PgNotifyHub"
                ? Keys($"{section}:{property.Name}", property.PropertyType)
                : [$"{section}:{property.Name}"]);
}
