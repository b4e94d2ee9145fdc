using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Packaging;

/// <summary>
/// The packages work as a user gets them: a new application made with <c>dotnet new web</c>, the packed packages
/// added from a local folder (no project reference), the README's own code pasted in, built and run against a real
/// PostgreSQL. Every C# block of the READMEs compiles in those applications, or is marked as a fragment.
/// Slow (it packs and builds applications): <c>--filter "Category!=Packaging"</c> leaves it out locally.
/// </summary>
[Collection(SharedPostgres.Name)]
[Trait("Category", "Packaging")]
public sealed class PackageConsumerTests(PostgresFixture postgres, PackedFeed feed) : IClassFixture<PackedFeed>
{
    private const string Readme = "README.md";

    // What README snippets may use besides the packages: JwtBearer, for the authentication example, at the version
    // the repository builds with.
    private static readonly Dictionary<string, string> SnippetPackages = new()
    {
        ["Microsoft.AspNetCore.Authentication.JwtBearer"] = CentralVersion("Microsoft.AspNetCore.Authentication.JwtBearer"),
    };

    [Fact]
    public void Every_csharp_block_of_the_readmes_is_marked_to_compile_or_as_a_fragment()
    {
        string[] kinds = ["program", "client-program", "services", "endpoints", "app", "fragment"];
        var unmarked = Snippets().Where(snippet => snippet.Language == "csharp" && !kinds.Contains(snippet.Kind)).Select(snippet => snippet.Location);

        Assert.Empty(unmarked);
    }

    [Fact]
    public async Task A_new_web_app_made_from_the_readme_quickstart_and_the_package_receives_a_notify()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var app = await feed.CreateApplicationAsync("QuickstartApp", ["PgNotifyHub"], SnippetPackages);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Single("program", "quickstart").Code, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(app, "appsettings.json"), WithConnectionString(Single("appsettings", "quickstart").Code), cancellationToken);
        // Every other snippet that compiles against the bridge goes into the same application, as a method nobody calls.
        var others = Snippets().Where(snippet => snippet.Kind is "services" or "endpoints" or "app" || (snippet.Kind == "program" && snippet.Name is null)).ToList();
        for (var i = 0; i < others.Count; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(app, $"ReadmeSnippet{i}.cs"), ReadmeSnippets.AsMethod(others[i], i), cancellationToken);
        }

        await using var server = await ServerProcess.StartAsync(Application(await PackedFeed.BuildAsync(app)));
        // What the README says a first run prints once it receives: Kestrel may listen before PostgreSQL does.
        await server.WaitForLineAsync(line => line.Contains("PgNotifyHub listener is listening on channels pgws", StringComparison.Ordinal)).OrTimeout();
        await using var client = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: cancellationToken);
        await postgres.NotifyAsync(PgNotifyHubOptions.DefaultChannel, Markers.Message(PgNotifyHubOptions.DefaultAudience, "from-the-quickstart"), cancellationToken);

        Assert.True((await client.ReceiveAsync()).IsMessage("from-the-quickstart"));
        Assert.NotEmpty(others);
    }

    [Fact]
    public async Task A_new_web_app_with_the_backplane_package_alone_relays_its_hubs_messages_and_maps_no_bridge_endpoint()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var app = await feed.CreateApplicationAsync("BackplaneApp", ["PgNotifyHub.Backplane"]);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Single("program", "backplane").Code, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(app, "appsettings.json"), WithConnectionString(Single("appsettings", "quickstart").Code), cancellationToken);

        await using var server = await ServerProcess.StartAsync(Application(await PackedFeed.BuildAsync(app)));
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(server.BaseUri, "/chat")).Build();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<string>("message", text => received.TrySetResult(text));
        await connection.StartAsync(cancellationToken).OrTimeout();
        await connection.InvokeAsync("Send", "through PostgreSQL", cancellationToken).OrTimeout();

        Assert.Equal("through PostgreSQL", await received.Task.OrTimeout());
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/ws", cancellationToken).OrTimeout()).StatusCode);
    }

    // The application as its user runs it: `dotnet App.dll` in its own folder, which is its content root.
    private static ServerLaunch Application(string dll) => new()
    {
        Command = [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", dll],
        WorkingDirectory = Path.GetDirectoryName(dll)!,
    };

    private static string CentralVersion(string package) =>
        System.Xml.Linq.XDocument.Load(Path.Combine(PackedFeed.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion").Single(entry => (string?)entry.Attribute("Include") == package).Attribute("Version")!.Value;

    [Fact]
    public async Task A_new_console_app_made_from_the_client_readme_program_and_the_client_package_receives_a_notify()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // The program asks a token endpoint before every connection: this host answers one, and ignores it.
        await using var host = await NotifyTestHost.StartAsync(postgres, mapEndpoints: (app, _) => app.MapGet("/token", () => "a-token"));
        var program = Single("client-program", name: null).Code
            .Replace("https://example.com/hub", new Uri(host.BaseUri, "/hub").ToString(), StringComparison.Ordinal)
            .Replace("https://example.com/token", new Uri(host.BaseUri, "/token").ToString(), StringComparison.Ordinal);
        var app = await feed.CreateApplicationAsync("ClientApp", ["PgNotifyHub.Client"], template: "console");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program, cancellationToken);

        await using var client = ConsoleProcess.Start(await PackedFeed.BuildAsync(app));
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, PgNotifyHubOptions.DefaultAudience), 1, cancellationToken).OrTimeout();
        await postgres.NotifyAsync(host.Channel, Markers.Message(PgNotifyHubOptions.DefaultAudience, "from-the-client-package"), cancellationToken);

        var printed = await client.WaitForLineAsync(line => line.Contains("from-the-client-package", StringComparison.Ordinal)).OrTimeout();
        Assert.StartsWith(host.Channel + " default #1:", printed, StringComparison.Ordinal);
    }

    private static IEnumerable<Snippet> Snippets() =>
        ReadmeSnippets.Read(PackedFeed.RepositoryRoot, Readme).Concat(ReadmeSnippets.Read(PackedFeed.RepositoryRoot, "clients/README.md"));

    private static Snippet Single(string kind, string? name) =>
        Assert.Single(Snippets(), snippet => snippet.Kind == kind && snippet.Name == name);

    // The README's appsettings.json with the test database in place of the example's.
    private string WithConnectionString(string appsettings)
    {
        var json = JsonNode.Parse(appsettings)!.AsObject();
        json["ConnectionStrings"]![PgNotifyHubOptions.ConnectionStringName] = postgres.ConnectionString;
        return json.ToJsonString();
    }
}
