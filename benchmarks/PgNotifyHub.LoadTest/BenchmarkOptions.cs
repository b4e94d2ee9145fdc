using System.Globalization;

namespace PgNotifyHub.LoadTest;

/// <summary>The command line. Every scenario has defaults that keep the whole default run within a few minutes.</summary>
internal sealed class BenchmarkOptions
{
    public const string Usage = """
        PgNotifyHub load benchmark: PostgreSQL NOTIFY → PgNotifyHub.Server → SignalR / raw WebSocket / Server-Sent Events clients.

        Usage: benchmarks/run.sh [options]
           or: dotnet run -c Release --project benchmarks/PgNotifyHub.LoadTest -- [options]

        Scenarios
          --scenario LIST          all (default), or a comma list of: bare, throughput, latency, common, idle-memory.
                                   bare runs first in every invocation: the other results are ratios to it.
          --common LIST            common: CLIENTSxRATE runs, one NOTIFY per transaction at RATE/s in total
                                   (default 100x1000,2000x50,10000x5,1000x200).
          --common-systems LIST    common: websocket, signalr, sse, bun (the reference bridge; needs --bun), listen (one
                                   plain LISTEN at the first run's rate) (default websocket,signalr,sse,bun,listen).
          --common-duration S      common: seconds of sending per run (default 10).
          --senders N              common: sending sessions (default 4).
          --payload-bytes N        common: bytes of each JSON payload (default 100).
          --bun PATH               the bun executable for the reference bridge (benchmarks/reference/pgws-bun.js).
          --transport T            websocket, signalr, sse, both (websocket and signalr) or all (default all).
          --clients N              clients per run (default: throughput 1, latency 100).
          --notifies M             notifies per bare/throughput run (default 100000).
          --batch B                notifies per statement, bare/throughput (default 100).
          --rates LIST             latency: notifies/s, comma list (default 1000,200).
          --duration S             latency: seconds of paced sending per run (default 10).
          --idle-websocket LIST    idle-memory: raw WebSocket connection counts, ascending (default 1000,10000).
          --idle-signalr LIST      idle-memory: SignalR connection counts, ascending (default 1000).
          --idle-sse LIST          idle-memory: Server-Sent Events stream counts, ascending (default 1000,10000).
          --gcdump DIR             idle-memory: a dotnet-gcdump of the server at its base and at every step, with its
                                   report by type (DIR/<transport>-<connections>.gcdump and .txt).
          --repeat K               run each case K times; the summary shows median and min–max (default 1).
          --warmup M               notifies delivered to 10 clients of each transport before measuring, in runs of
                                   at most 5000 (default 15000).
          --drain-timeout S        after the last commit, how long to wait for every client's end marker (default 10).

        PostgreSQL
          --pg CONNSTRING          use this server (also: env PGNOTIFYHUB_BENCH_PG). Otherwise a throwaway cluster is
                                   started from $PG_BIN or /usr/lib/postgresql/*/bin with default settings.
          --pg-setting NAME=VALUE  extra `-c` setting for the throwaway cluster (repeatable), e.g. fsync=off.

        Server
          --server-url URL         target a running server (http://host:port) instead of starting one. It must listen
                                   on the bench channel (--channel) with every client in audience `bench`.
          --server-pid PID         its process id, for CPU and memory figures (same machine only).
          --server-dll PATH        the PgNotifyHub.Server.dll to start (default: the one built with this project), or
                                   the executable of a Native AOT publish.
          --server-setting K=V     extra configuration for the started server (repeatable), passed as an environment
                                   variable, e.g. PgNotifyHub__SendQueueCapacity=16384 or DOTNET_gcServer=0.
          --channel NAME           the channel the server listens on (default pgnotifyhub_bench).

        Output
          --json PATH              results file (default benchmarks/results/<UTC timestamp>.json); the server's log
                                   goes next to it as <name>.server.log.
          -h, --help               this text.

        Exit code: 0 when every run completed (targets are not checked), 1 when a run failed or timed out,
        2 when setup failed, 64 on a bad command line, 130 when interrupted.
        """;

    public static readonly string[] AllScenarios = ["bare", "throughput", "latency", "common", "idle-memory"];

    public static readonly string[] AllCommonSystems = ["websocket", "signalr", "sse", CommonCase.Bun, CommonCase.Listen];

    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    public IReadOnlyList<Transport> Transports { get; private set; } = [Transport.WebSocket, Transport.SignalR, Transport.EventStream];

    public int? Clients { get; private set; }

    public int Notifies { get; private set; } = 100_000;

    public int BatchSize { get; private set; } = 100;

    public IReadOnlyList<int> Rates { get; private set; } = [1_000, 200];

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

    public IReadOnlyList<int> IdleWebSocketCounts { get; private set; } = [1_000, 10_000];

    public IReadOnlyList<int> IdleSignalRCounts { get; private set; } = [1_000];

    public IReadOnlyList<int> IdleEventStreamCounts { get; private set; } = [1_000, 10_000];

    public IReadOnlyList<(int Clients, int Rate)> CommonRuns { get; private set; } = [(100, 1_000), (2_000, 50), (10_000, 5), (1_000, 200)];

    public IReadOnlyList<string> CommonSystems { get; private set; } = AllCommonSystems;

    public TimeSpan CommonDuration { get; private set; } = TimeSpan.FromSeconds(10);

    public int SenderSessions { get; private set; } = 4;

    public int PayloadBytes { get; private set; } = 100;

    /// <summary>The bun executable and the bridge's script, when the Bun reference runs.</summary>
    public (string Executable, string Script)? Bun { get; private set; }

    public string? GcDumpDirectory { get; private set; }

    public int Repeat { get; private set; } = 1;

    public int Warmup { get; private set; } = 15_000;

    public TimeSpan DrainTimeout { get; private set; } = TimeSpan.FromSeconds(10);

    public string? PostgresConnectionString { get; private set; } = Environment.GetEnvironmentVariable("PGNOTIFYHUB_BENCH_PG") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;

    public IReadOnlyList<string> PostgresSettings { get; private set; } = [];

    public Uri? ServerUrl { get; private set; }

    public int? ServerPid { get; private set; }

    public string? ServerAssembly { get; private set; }

    public IReadOnlyList<KeyValuePair<string, string>> ServerSettings { get; private set; } = [];

    public string Channel { get; private set; } = "pgnotifyhub_bench";

    public string? JsonPath { get; private set; }

    public bool ShowHelp { get; private set; }

    /// <summary>The Bun reference was asked for (the default) but no --bun was given.</summary>
    public bool BunMissing { get; private set; }

    public int ThroughputClients => Clients ?? 1;

    public int LatencyClients => Clients ?? 100;

    public bool Runs(string scenario) => Scenarios.Contains(scenario);

    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchmarkOptions();
        var postgresSettings = new List<string>();
        var serverSettings = new List<KeyValuePair<string, string>>();
        for (var index = 0; index < args.Count; index++)
        {
            var name = args[index];
            string Value() => index + 1 < args.Count ? args[++index] : throw new UsageException($"{name} needs a value.");
            switch (name)
            {
                case "-h" or "--help":
                    options.ShowHelp = true;
                    break;
                case "--scenario":
                    options.Scenarios = ParseScenarios(Value());
                    break;
                case "--transport":
                    var transport = Value();
                    options.Transports = transport.ToLowerInvariant() switch
                    {
                        "both" => [Transport.WebSocket, Transport.SignalR],
                        "all" => [Transport.WebSocket, Transport.SignalR, Transport.EventStream],
                        _ => [TransportNames.Parse(transport)],
                    };
                    break;
                case "--clients":
                    options.Clients = Positive(name, Value());
                    break;
                case "--notifies":
                    options.Notifies = Positive(name, Value());
                    break;
                case "--batch":
                    options.BatchSize = Positive(name, Value());
                    break;
                case "--rates":
                    options.Rates = PositiveList(name, Value());
                    break;
                case "--duration":
                    options.Duration = TimeSpan.FromSeconds(Positive(name, Value()));
                    break;
                case "--idle-websocket":
                    options.IdleWebSocketCounts = Ascending(name, PositiveList(name, Value()));
                    break;
                case "--idle-signalr":
                    options.IdleSignalRCounts = Ascending(name, PositiveList(name, Value()));
                    break;
                case "--idle-sse":
                    options.IdleEventStreamCounts = Ascending(name, PositiveList(name, Value()));
                    break;
                case "--common":
                    options.CommonRuns = ParseCommonRuns(name, Value());
                    break;
                case "--common-systems":
                    options.CommonSystems = ParseCommonSystems(name, Value());
                    break;
                case "--common-duration":
                    options.CommonDuration = TimeSpan.FromSeconds(Positive(name, Value()));
                    break;
                case "--senders":
                    options.SenderSessions = Positive(name, Value());
                    break;
                case "--payload-bytes":
                    options.PayloadBytes = Positive(name, Value());
                    break;
                case "--bun":
                    var bun = Path.GetFullPath(Value());
                    options.Bun = File.Exists(bun) ? (bun, ReferenceScript()) : throw new UsageException($"{name}: {bun} does not exist.");
                    break;
                case "--gcdump":
                    options.GcDumpDirectory = Path.GetFullPath(Value());
                    break;
                case "--repeat":
                    options.Repeat = Positive(name, Value());
                    break;
                case "--warmup":
                    options.Warmup = NonNegative(name, Value());
                    break;
                case "--drain-timeout":
                    options.DrainTimeout = TimeSpan.FromSeconds(Positive(name, Value()));
                    break;
                case "--pg":
                    options.PostgresConnectionString = Value();
                    break;
                case "--pg-setting":
                    var setting = KeyValue(name, Value());
                    postgresSettings.Add($"{setting.Key}={setting.Value}");
                    break;
                case "--server-url":
                    options.ServerUrl = Uri.TryCreate(Value(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                        ? url
                        : throw new UsageException($"{name} must be an absolute http(s) URL.");
                    break;
                case "--server-pid":
                    options.ServerPid = Positive(name, Value());
                    break;
                case "--server-dll":
                    options.ServerAssembly = Path.GetFullPath(Value());
                    break;
                case "--server-setting":
                    serverSettings.Add(KeyValue(name, Value()));
                    break;
                case "--channel":
                    options.Channel = Value();
                    break;
                case "--json":
                    options.JsonPath = Path.GetFullPath(Value());
                    break;
                default:
                    throw new UsageException($"Unknown option '{name}'.");
            }
        }

        if (options.ServerPid is not null && options.ServerUrl is null)
        {
            throw new UsageException("--server-pid needs --server-url.");
        }

        if (options.BatchSize > options.Notifies)
        {
            throw new UsageException("--batch must not exceed --notifies.");
        }

        if (options.Runs("common") && options.CommonSystems.Contains(CommonCase.Bun) && options.Bun is null)
        {
            // Without Bun the reference row is left out, and the report says so; run.sh always passes it.
            options.CommonSystems = [.. options.CommonSystems.Where(system => system != CommonCase.Bun)];
            options.BunMissing = true;
        }

        options.PostgresSettings = postgresSettings;
        options.ServerSettings = serverSettings;
        return options;
    }

    private static string[] ParseScenarios(string text)
    {
        var scenarios = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(scenario => scenario.ToLowerInvariant())
            .ToArray();
        if (scenarios.Contains("all"))
        {
            return AllScenarios;
        }

        foreach (var scenario in scenarios)
        {
            if (!AllScenarios.Contains(scenario))
            {
                throw new UsageException($"Unknown scenario '{scenario}': use all, or a comma list of {string.Join(", ", AllScenarios)}.");
            }
        }

        return scenarios.Length > 0 ? scenarios : throw new UsageException("--scenario is empty.");
    }

    private static (int Clients, int Rate)[] ParseCommonRuns(string name, string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(run => run.Split('x', '@') is [var clients, var rate]
                ? (Positive(name, clients), Positive(name, rate))
                : throw new UsageException($"{name} takes CLIENTSxRATE items, e.g. 100x1000, not '{run}'."))
            .ToArray() is { Length: > 0 } runs ? runs : throw new UsageException($"{name} needs at least one run.");

    private static string[] ParseCommonSystems(string name, string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(system => AllCommonSystems.Contains(system.ToLowerInvariant())
                ? system.ToLowerInvariant()
                : throw new UsageException($"{name}: unknown system '{system}'; use {string.Join(", ", AllCommonSystems)}."))
            .ToArray() is { Length: > 0 } systems ? systems : throw new UsageException($"{name} needs at least one system.");

    /// <summary>The root of the repository this was built from; else the current directory.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PgNotifyHub.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }

    private static string ReferenceScript() => Path.Combine(RepositoryRoot(), "benchmarks", "reference", "pgws-bun.js");

    private static int Positive(string name, string text) =>
        int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new UsageException($"{name} must be a positive integer, not '{text}'.");

    private static int NonNegative(string name, string text) =>
        int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new UsageException($"{name} must be zero or a positive integer, not '{text}'.");

    private static int[] PositiveList(string name, string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item => Positive(name, item)).ToArray() is { Length: > 0 } list
            ? list
            : throw new UsageException($"{name} needs at least one value.");

    private static int[] Ascending(string name, int[] values) =>
        values.Zip(values.Skip(1)).All(pair => pair.First < pair.Second)
            ? values
            : throw new UsageException($"{name} must be ascending: connections are added step by step.");

    private static KeyValuePair<string, string> KeyValue(string name, string text)
    {
        var separator = text.IndexOf('=', StringComparison.Ordinal);
        return separator > 0
            ? new(text[..separator], text[(separator + 1)..])
            : throw new UsageException($"{name} must be NAME=VALUE, not '{text}'.");
    }
}
