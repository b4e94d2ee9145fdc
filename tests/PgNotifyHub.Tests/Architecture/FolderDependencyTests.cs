using System.Text.RegularExpressions;

namespace PgNotifyHub.Tests.Architecture;

/// <summary>
/// The library's folders form one way: a notification flows Listening → Parsing → Sequencing → Routing → Transports,
/// and each folder uses only those before it (docs/ARCHITECTURE.md). Read from the compiled assembly, so no use
/// escapes the check, and from the sources, so every file lives where its namespace says.
/// </summary>
public sealed partial class FolderDependencyTests
{
    private const string Root = "PgNotifyHub";

    // The root's public types that wire the rest together: they may use every folder, and no folder may use them.
    private static readonly HashSet<string> EntryPoints = new(StringComparer.Ordinal)
    {
        "PgNotifyHub.PgNotifyHubServiceCollectionExtensions",
        "PgNotifyHub.PgNotifyHubEndpointRouteBuilderExtensions",
        "PgNotifyHub.PgNotifyHubBackplaneSignalRBuilderExtensions",
        "PgNotifyHub.PgNotificationSubscriber",
        "PgNotifyHub.PgNotificationSubscription",
    };

    // The assemblies checked, each with the folder its namespace starts from.
    private static readonly (string Assembly, string SourceFolder)[] Assemblies =
    [
        ("PgNotifyHub", "src/PgNotifyHub"),
        ("PgNotifyHub.Backplane", "src/PgNotifyHub.Backplane"),
    ];

    // Each part and the parts it may use. "Contract" is the root's other public types: options, the notification, the hub.
    private static readonly Dictionary<string, string[]> MayUse = new(StringComparer.Ordinal)
    {
        ["Contract"] = [],
        ["Diagnostics"] = ["Contract"],
        ["Postgres"] = ["Contract", "Diagnostics"],
        ["Listening"] = ["Contract", "Diagnostics", "Postgres"],
        ["Durable"] = ["Contract", "Diagnostics", "Postgres", "Listening"],
        ["Parsing"] = ["Contract", "Diagnostics"],
        ["Sequencing"] = ["Contract", "Diagnostics", "Listening", "Parsing"],
        ["Routing"] = ["Contract", "Diagnostics", "Sequencing"],
        ["Transports"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Parsing", "Sequencing"],
        ["Transports.WebSockets"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Parsing", "Sequencing", "Transports"],
        ["Transports.SignalR"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Parsing", "Sequencing", "Transports"],
        ["Transports.ServerSentEvents"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Parsing", "Sequencing", "Transports"],
        ["Backplane"] = ["Contract", "Diagnostics", "Postgres", "Listening"],
        ["Configuration"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Durable", "Parsing", "Sequencing", "Routing", "Transports", "Transports.WebSockets", "Transports.SignalR", "Transports.ServerSentEvents", "Backplane"],
        ["EntryPoints"] = ["Contract", "Diagnostics", "Postgres", "Listening", "Durable", "Parsing", "Sequencing", "Routing", "Transports", "Transports.WebSockets", "Transports.SignalR", "Transports.ServerSentEvents", "Backplane", "Configuration"],
    };

    public static TheoryData<string> AssemblyNames => [.. Assemblies.Select(assembly => assembly.Assembly)];

    [Theory]
    [MemberData(nameof(AssemblyNames))]
    public void Every_folder_uses_only_the_folders_before_it(string assembly)
    {
        var uses = TypeReferences.Of(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"), [.. Assemblies.Select(other => other.Assembly)]);
        var violations = new List<string>();
        // The compiler's own types (embedded attributes, anonymous types, static data) belong to no part.
        foreach (var (type, used) in uses.Where(pair => IsOwn(pair.Key)))
        {
            var part = PartOf(type);
            Assert.True(MayUse.ContainsKey(part), $"{type} is in {part}, which the architecture does not name: add it to docs/ARCHITECTURE.md and to this test.");
            foreach (var other in used.Where(other => IsOwn(other) && PartOf(other) != part && !MayUse[part].Contains(PartOf(other))))
            {
                violations.Add($"{type} ({part}) uses {other} ({PartOf(other)})");
            }
        }

        Assert.True(violations.Count == 0, "Uses against the flow:" + Environment.NewLine + string.Join(Environment.NewLine, violations.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void The_check_sees_uses_in_signatures_bodies_and_generic_arguments()
    {
        var uses = TypeReferences.Of(typeof(PgNotification).Assembly.Location);

        // A constructor argument, a generic argument (Queue<SequencedNotification>) and a call through an interface.
        Assert.Contains("PgNotifyHub.Sequencing.INotificationFanOut", uses["PgNotifyHub.Sequencing.NotificationSequencer"]);
        Assert.Contains("PgNotifyHub.Sequencing.SequencedNotification", uses["PgNotifyHub.Sequencing.NotificationSequencer"]);
        Assert.Contains("PgNotifyHub.Parsing.NotificationParser", uses["PgNotifyHub.Sequencing.NotificationDispatcher"]);
        // Inside a lambda, which the compiler moves to a class of its own.
        Assert.Contains("PgNotifyHub.Transports.SignalR.HubConnectionSink", uses["PgNotifyHub.Transports.SignalR.NotifyHubLifetimeManager"]);

        // Across assemblies: the backplane package uses the listener of the core one.
        var backplane = TypeReferences.Of(Path.Combine(AppContext.BaseDirectory, "PgNotifyHub.Backplane.dll"), "PgNotifyHub");
        Assert.Contains("PgNotifyHub.Listening.ChannelConsumers", backplane["PgNotifyHub.Backplane.BackplaneReceiver"]);
    }

    [Theory]
    [MemberData(nameof(AssemblyNames))]
    public void Every_source_file_lives_in_the_folder_its_namespace_names(string assembly)
    {
        var source = Path.Combine(RepositoryRoot(), Assemblies.Single(checkedAssembly => checkedAssembly.Assembly == assembly).SourceFolder);
        var misplaced = new List<string>();
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("obj", StringComparison.Ordinal) || relative.StartsWith("bin", StringComparison.Ordinal))
            {
                continue;
            }

            var folder = Path.GetDirectoryName(relative)!.Replace(Path.DirectorySeparatorChar, '.');
            var expected = folder.Length == 0 ? Root : Root + "." + folder;
            var declared = NamespaceDeclaration().Match(File.ReadAllText(file)).Groups[1].Value;
            if (declared != expected)
            {
                misplaced.Add($"{relative} declares namespace '{declared}', not '{expected}'");
            }
        }

        Assert.Empty(misplaced);
    }

    private static bool IsOwn(string type) => type.StartsWith(Root + ".", StringComparison.Ordinal);

    private static string PartOf(string type)
    {
        if (EntryPoints.Contains(type))
        {
            return "EntryPoints";
        }

        var space = type[..type.LastIndexOf('.')];
        return space == Root ? "Contract" : space[(Root.Length + 1)..];
    }

    private static string RepositoryRoot()
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

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();
}
