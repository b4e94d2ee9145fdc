using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using PgNotifyHub.IntegrationTests.Deployment;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The recipes in deploy/, run without a container engine: the published server started with exactly the command,
/// environment, working directory and non-root user each recipe declares, read from the recipe itself. Only what
/// cannot exist here is substituted: the database address (this test's PostgreSQL), secrets (a Secret, an environment
/// file), the image's or install directory (the publish directory), the non-root user (an account made for the run,
/// or this test's own user when it is not root), and the listening port: a container has a network namespace of its
/// own where the declared port is always free, this machine does not, so a free port stands in for it once every
/// declaration of it is checked to agree.
/// </summary>
[Collection(SharedPostgres.Name)]
[SupportedOSPlatform("linux")]
public sealed class DeploymentRecipeTests(PostgresFixture postgres, PublishedServer published) : IClassFixture<PublishedServer>
{
    private const string ListenerListening = "listener is listening on channels";

    private static readonly DockerfileRecipe Dockerfile = DockerfileRecipe.Load(Repository.File("deploy/Dockerfile"));

    [Fact]
    public async Task The_Dockerfile_image_runs_as_a_non_root_user_and_serves_its_exposed_port()
    {
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", Dockerfile.BaseImage);
        AssertNotRoot(Dockerfile.User);
        // The build stage copies only what exists, and publishes the server.
        Assert.All(Dockerfile.CopiedFromContext, source => Assert.True(
            source == "." || File.Exists(Repository.File(source)) || Directory.Exists(Repository.File(source)), $"deploy/Dockerfile copies {source}, which does not exist."));
        Assert.Equal("src/PgNotifyHub.Server", Dockerfile.PublishArguments[0]);
        // What the image holds besides the server: the pages it serves, and the options' documentation --help reads.
        Assert.True(File.Exists(Path.Combine(published.Directory, "clients", "browser", "index.html")), "The publish directory has no clients/browser/index.html.");
        Assert.True(File.Exists(Path.Combine(published.Directory, "PgNotifyHub.xml")), "The publish directory has no PgNotifyHub.xml.");

        // What docs/OPERATIONS.md passes to docker run: the database, and anonymous access.
        var environment = new Dictionary<string, string>(Dockerfile.Environment)
        {
            ["ConnectionStrings__Postgres"] = postgres.ConnectionString,
            ["Authentication__AllowAnonymous"] = "true",
        };
        await using var server = await StartAsync(Dockerfile.Entrypoint, environment, Dockerfile.WorkingDirectory, ImagePort());

        await AssertProbesAnswerAsync(server, "/healthz", "/readyz");
    }

    [Fact]
    public async Task The_SDK_container_declares_what_the_Dockerfile_does_and_its_command_serves()
    {
        var output = await ProcessRunner.RunAsync(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            ["msbuild", "src/PgNotifyHub.Server/PgNotifyHub.Server.csproj", "-t:ComputeContainerConfig", "-p:Configuration=Release",
             "-getProperty:ContainerBaseImage", "-getProperty:ContainerRepository", "-getProperty:ContainerUser", "-getProperty:ContainerWorkingDirectory",
             "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariables", "-getItem:ContainerAppCommand"],
            TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken, workingDirectory: Repository.Root);
        using var config = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var properties = config.RootElement.GetProperty("Properties");
        var items = config.RootElement.GetProperty("Items");

        Assert.Equal(Dockerfile.BaseImage, properties.GetProperty("ContainerBaseImage").GetString());
        Assert.Equal("pgnotifyhub/server", properties.GetProperty("ContainerRepository").GetString());
        AssertNotRoot(properties.GetProperty("ContainerUser").GetString());
        Assert.Equal(Dockerfile.ExposedPorts, items.GetProperty("ContainerPort").EnumerateArray().Select(port => int.Parse(port.GetProperty("Identity").GetString()!, CultureInfo.InvariantCulture)));
        var environment = items.GetProperty("ContainerEnvironmentVariables").EnumerateArray()
            .ToDictionary(variable => variable.GetProperty("Identity").GetString()!, variable => variable.GetProperty("Value").GetString()!);
        Assert.Equal(Dockerfile.Environment, environment);
        var command = items.GetProperty("ContainerAppCommand").EnumerateArray().Select(part => part.GetProperty("Identity").GetString()!).ToList();

        environment["ConnectionStrings__Postgres"] = postgres.ConnectionString;
        environment["Authentication__AllowAnonymous"] = "true";
        await using var server = await StartAsync(command, environment, properties.GetProperty("ContainerWorkingDirectory").GetString()!, ImagePort());

        await AssertProbesAnswerAsync(server, "/healthz", "/readyz");
    }

    [Fact]
    public async Task Compose_runs_the_server_on_its_mapped_port_with_the_postgres_services_database_and_applies_the_outbox_schema()
    {
        var compose = Yaml.Load(Repository.File("deploy/compose.yaml"));
        var service = compose.At("services", "server");
        Assert.Equal(Repository.Root, Path.GetFullPath(Path.Combine(Repository.File("deploy"), service.Text("build", "context"))).TrimEnd('/'));
        Assert.Equal("deploy/Dockerfile", service.Text("build", "dockerfile"));
        var mapping = Assert.Single(service.Items("ports")).Text().Split(':');
        Assert.Equal(ImagePort(), int.Parse(mapping[^1], CultureInfo.InvariantCulture));
        var environment = service.Entries("environment").ToDictionary(entry => entry.Key, entry => entry.Value.Text());
        Assert.Equal("true", environment["PgNotifyHub__Outbox__InstallSchema"]);

        // The server's database is the postgres service's own.
        var database = new NpgsqlConnectionStringBuilder(environment["ConnectionStrings__Postgres"]);
        var postgresService = compose.At("services", "postgres", "environment");
        Assert.Equal(
            ("postgres", postgresService.Text("POSTGRES_USER"), postgresService.Text("POSTGRES_PASSWORD"), postgresService.Text("POSTGRES_DB")),
            (database.Host, database.Username, database.Password, database.Database));
        await CreateDatabaseAsync(database.Username!, database.Password!, database.Database!);
        var address = new NpgsqlConnectionStringBuilder(postgres.ConnectionString);
        (database.Host, database.Port) = (address.Host, address.Port);
        environment["ConnectionStrings__Postgres"] = database.ConnectionString;

        await using var server = await StartAsync(Dockerfile.Entrypoint, Merge(Dockerfile.Environment, environment), Dockerfile.WorkingDirectory, ImagePort());

        await AssertProbesAnswerAsync(server, "/healthz", "/readyz");
        await server.WaitForLineAsync(line => line.Contains("applied its outbox schema", StringComparison.Ordinal)).OrTimeout();
        await using var check = NpgsqlDataSource.Create(database.ConnectionString);
        await using var outbox = check.CreateCommand("SELECT to_regclass('pgnotifyhub.outbox') IS NOT NULL");
        Assert.Equal(true, await outbox.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_systemd_unit_runs_as_its_user_and_tells_systemd_READY_1_once_it_serves()
    {
        var unit = SystemdUnit.Load(Repository.File("deploy/pgnotifyhub.service"));
        Assert.Equal("notify", unit["Type"]);
        AssertNotRoot(unit["User"]);
        var installDirectory = unit["WorkingDirectory"]!;
        var execStart = unit.ExecStart;
        Assert.Equal(Path.Combine(installDirectory, "PgNotifyHub.Server.dll"), execStart[^1]);
        var environment = new Dictionary<string, string>(unit.Environment);
        var declaredPort = new Uri(environment["ASPNETCORE_URLS"]).Port;

        // What systemd provides: the state directory the unit's HOME points at, the secrets of its environment file, and
        // the notify socket of a Type=notify service.
        Assert.Equal("/var/lib/" + unit["StateDirectory"], environment["HOME"]);
        environment["HOME"] = await published.CreateOwnedDirectoryAsync("state");
        Assert.Equal("-/etc/pgnotifyhub/pgnotifyhub.env", unit["EnvironmentFile"]);
        environment["ConnectionStrings__Postgres"] = postgres.ConnectionString;
        environment["Authentication__Jwt__SigningKey"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        using var notify = new NotifySocket();
        environment["NOTIFY_SOCKET"] = notify.Path;
        var ready = notify.ReceiveAsync("READY=1");

        // The server speaks to NOTIFY_SOCKET only when its parent process is systemd: a shell under that name runs it.
        var parent = await published.CreateOwnedDirectoryAsync("systemd");
        var systemd = Path.Combine(parent, "systemd");
        File.CreateSymbolicLink(systemd, "/bin/sh");
        string[] dotnet = File.Exists(execStart[0]) ? [execStart[0]] : [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet"];
        string[] command = [systemd, "-c", "\"$@\" & wait $!", "systemd", .. dotnet, .. execStart.Skip(1)];
        await using var server = await StartAsync(command, environment, installDirectory, declaredPort);

        Assert.Contains("READY=1", await ready.OrTimeout(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", server.ListeningAddress.Host);
        // Logging__Console__FormatterName=systemd: journald reads each line's level from its prefix.
        Assert.StartsWith("<6>", await server.WaitForLineAsync(line => line.Contains("Now listening on", StringComparison.Ordinal)).OrTimeout(), StringComparison.Ordinal);
        await AssertProbesAnswerAsync(server, "/healthz", "/readyz");
    }

    [Fact]
    public async Task The_Kubernetes_pod_runs_as_declared_answers_its_probes_and_reads_the_outbox_under_its_pod_name()
    {
        var deployment = Yaml.Load(Repository.File("deploy/kubernetes/deployment.yaml"));
        var template = deployment.At("spec", "template");
        var pod = template.At("spec");
        Assert.Equal("true", pod.Text("securityContext", "runAsNonRoot"));
        AssertNotRoot(pod.Text("securityContext", "runAsUser"));
        var container = pod.At("containers", 0);
        var ports = container.Items("ports").ToDictionary(port => port.Text("name"), port => int.Parse(port.Text("containerPort"), CultureInfo.InvariantCulture));
        Assert.Equal(ImagePort(), ports["http"]);

        // The Service and the PodDisruptionBudget select these pods, and the Service sends to the named port.
        var labels = template.Entries("metadata", "labels").ToDictionary(label => label.Key, label => label.Value.Text());
        var service = Yaml.Load(Repository.File("deploy/kubernetes/service.yaml"));
        Assert.All(service.Entries("spec", "selector"), selector => Assert.Equal(labels[selector.Key], selector.Value.Text()));
        Assert.Contains(service.At("spec", "ports", 0).Text("targetPort"), ports.Keys);
        var budget = Yaml.Load(Repository.File("deploy/kubernetes/poddisruptionbudget.yaml"));
        Assert.All(budget.Entries("spec", "selector", "matchLabels"), selector => Assert.Equal(labels[selector.Key], selector.Value.Text()));
        Assert.All(Yaml.Load(Repository.File("deploy/kubernetes/kustomization.yaml")).Items("resources"),
            resource => Assert.True(File.Exists(Repository.File("deploy/kubernetes/" + resource.Text())), $"kustomization.yaml lists {resource.Text()}, which does not exist."));

        // The Secret's values and the pod's name are what Kubernetes would give it.
        var podName = "pgnotifyhub-" + Guid.NewGuid().ToString("N")[..10] + "-x2k7q";
        var secrets = new Dictionary<string, string>
        {
            ["postgres"] = postgres.ConnectionString,
            ["jwt-signing-key"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
        };
        var environment = new Dictionary<string, string>(Dockerfile.Environment);
        foreach (var variable in container.Items("env"))
        {
            environment[variable.Text("name")] = variable.Find("value") is { } value
                ? value.Text()
                : variable.At("valueFrom").Find("secretKeyRef") is { } secret
                    ? secrets[secret.Text("key")]
                    : variable.Text("valueFrom", "fieldRef", "fieldPath") == "metadata.name" ? podName : throw new InvalidOperationException($"Unknown source of {variable.Text("name")}.");
        }

        var liveness = container.At("livenessProbe", "httpGet");
        var readiness = container.At("readinessProbe", "httpGet");
        Assert.Equal(["http", "http"], [liveness.Text("port"), readiness.Text("port")]);
        await using var server = await StartAsync(Dockerfile.Entrypoint, environment, Dockerfile.WorkingDirectory, ports["http"]);

        await AssertProbesAnswerAsync(server, liveness.Text("path"), readiness.Text("path"));
        await server.WaitForLineAsync(line => line.Contains($"outbox reader {podName} is reading", StringComparison.Ordinal)).OrTimeout();
    }

    /// <summary>The image's port: ASPNETCORE_HTTP_PORTS of its ENV, which is also what it EXPOSEs.</summary>
    private static int ImagePort()
    {
        var port = int.Parse(Dockerfile.Environment["ASPNETCORE_HTTP_PORTS"], CultureInfo.InvariantCulture);
        Assert.Equal([port], Dockerfile.ExposedPorts);
        return port;
    }

    private static void AssertNotRoot(string? user)
    {
        Assert.False(string.IsNullOrWhiteSpace(user), "The recipe names no user, so it runs as root.");
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
    }

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> image, IReadOnlyDictionary<string, string> service)
    {
        var merged = new Dictionary<string, string>(image);
        foreach (var (name, value) in service)
        {
            merged[name] = value;
        }

        return merged;
    }

    private static async Task AssertProbesAnswerAsync(ServerProcess server, params string[] paths)
    {
        // Readiness follows the listener's first LISTEN.
        await server.WaitForLineAsync(line => line.Contains(ListenerListening, StringComparison.Ordinal)).OrTimeout();
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(path, TestContext.Current.CancellationToken).OrTimeout();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
    }

    /// <summary>
    /// Starts <paramref name="command"/> as the recipe declares it, with paths under <paramref name="imageDirectory"/> in
    /// the publish directory, as the non-root account, with only <paramref name="environment"/> (and PATH), and a free
    /// port in place of <paramref name="declaredPort"/>.
    /// </summary>
    private async Task<ServerProcess> StartAsync(IReadOnlyList<string> command, Dictionary<string, string> environment, string imageDirectory, int declaredPort)
    {
        var prefix = imageDirectory.TrimEnd('/');
        var port = FreePort.Next();
        var declared = declaredPort.ToString(CultureInfo.InvariantCulture);
        foreach (var name in environment.Keys.ToList())
        {
            if (name is "ASPNETCORE_HTTP_PORTS" && environment[name] == declared)
            {
                environment[name] = port.ToString(CultureInfo.InvariantCulture);
            }
            else if (name is "ASPNETCORE_URLS")
            {
                environment[name] = new UriBuilder(environment[name]) { Port = port }.Uri.ToString().TrimEnd('/');
            }
        }

        var server = await ServerProcess.StartAsync(new ServerLaunch
        {
            Command = [.. command.Select(part => part.StartsWith(prefix + "/", StringComparison.Ordinal) ? published.Directory + part[prefix.Length..] : part)],
            Urls = null,
            Environment = environment,
            InheritEnvironment = false,
            WorkingDirectory = published.Directory,
            User = published.Account,
        });
        Assert.Equal(port, server.ListeningAddress.Port);
        await AssertRunsAsTheAccountAsync(server.ProcessId);
        return server;
    }

    // The non-root account made for the run, or this test's own user when it is not root.
    private async Task AssertRunsAsTheAccountAsync(int processId)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var expected = await ProcessRunner.RunAsync("id", published.Account is { } account ? ["-u", account] : ["-u"], TimeSpan.FromSeconds(30), cancellationToken);
        var actual = await ProcessRunner.RunAsync("ps", ["-o", "uid=", "-p", processId.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(30), cancellationToken);
        Assert.Equal(expected.Trim(), actual.Trim());
    }

    private async Task CreateDatabaseAsync(string user, string password, string database)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_roles WHERE rolname = $1", connection) { Parameters = { new() { Value = user } } })
        {
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                await ExecuteFormattedAsync(connection, "CREATE ROLE %I LOGIN PASSWORD %L", user, password);
            }
        }

        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = database } } })
        {
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                await ExecuteFormattedAsync(connection, "CREATE DATABASE %I OWNER %I", database, user);
            }
        }
    }

    // DDL takes no parameters: PostgreSQL's format() quotes the names and the literal.
    private static async Task ExecuteFormattedAsync(NpgsqlConnection connection, string template, string first, string second)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var format = new NpgsqlCommand("SELECT format($1, $2, $3)", connection) { Parameters = { new() { Value = template }, new() { Value = first }, new() { Value = second } } };
        var statement = (string)(await format.ExecuteScalarAsync(cancellationToken))!;
        await using var execute = new NpgsqlCommand(statement, connection);
        await execute.ExecuteNonQueryAsync(cancellationToken);
    }
}
