using System.Globalization;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>The workload, from the command line; every count is bounded so a run always ends.</summary>
internal sealed record BenchOptions
{
    public int Nodes { get; init; } = 3;

    public int Clients { get; init; } = 60;

    public int Groups { get; init; } = 6;

    public int Senders { get; init; } = 12;

    /// <summary>Sends per sender in the throughput phase, where each sender sends its next as soon as the last completed.</summary>
    public int Messages { get; init; } = 1000;

    /// <summary>Sends per second, all senders together, in the latency phase.</summary>
    public int Rate { get; init; } = 500;

    /// <summary>How long the latency phase sends.</summary>
    public TimeSpan LatencyDuration { get; init; } = TimeSpan.FromSeconds(5);

    public int PayloadBytes { get; init; } = 64;

    /// <summary>
    /// True: every group has members on every node, as chat rooms would. False: each group's members share one node
    /// (with as many groups as a multiple of the nodes), where Redis delivers a group's messages to that node only.
    /// </summary>
    public bool GroupsSpanNodes { get; init; } = true;

    public int Repeat { get; init; } = 3;

    /// <summary>A phase that has not delivered everything by then is reported with what it lost.</summary>
    public TimeSpan PhaseTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public IReadOnlyList<Backplane> Backplanes { get; init; } = [Backplane.Postgres, Backplane.Redis];

    public const string Usage =
        """
        Compares the PostgreSQL and the Redis SignalR backplanes: N nodes (Kestrel on 127.0.0.1) in this process, clients
        spread across them, each in one group; senders call a hub method that sends to a group.

          --nodes N            nodes (default 3)
          --clients N          clients, client i on node i mod nodes (default 60)
          --groups N           groups (default 6)
          --senders N          the first N clients also send (default 12)
          --groups-per-node    client i in group i mod groups, so with groups a multiple of nodes each group is on
                               one node (default: client i in group (i div nodes) mod groups, on every node)
          --messages N         sends per sender in the throughput phase (default 1000)
          --rate N             sends per second in the latency phase (default 500)
          --latency-seconds N  length of the latency phase (default 5)
          --payload N          filler bytes per message (default 64)
          --repeat N           runs per backplane, alternating (default 3)
          --timeout-seconds N  per phase (default 120)
          --backplane LIST     postgres,redis (default both)
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Count() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{name} needs a positive whole number.");
            options = name switch
            {
                "--nodes" => options with { Nodes = Count() },
                "--clients" => options with { Clients = Count() },
                "--groups" => options with { Groups = Count() },
                "--senders" => options with { Senders = Count() },
                "--messages" => options with { Messages = Count() },
                "--rate" => options with { Rate = Count() },
                "--latency-seconds" => options with { LatencyDuration = TimeSpan.FromSeconds(Count()) },
                "--payload" => options with { PayloadBytes = Count() },
                "--repeat" => options with { Repeat = Count() },
                "--timeout-seconds" => options with { PhaseTimeout = TimeSpan.FromSeconds(Count()) },
                "--groups-per-node" => options with { GroupsSpanNodes = false },
                "--backplane" => options with { Backplanes = [.. Value().Split(',').Select(ParseBackplane)] },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }

        if (options.Senders > options.Clients)
        {
            throw new ArgumentException("--senders cannot exceed --clients.");
        }

        return options;
    }

    private static Backplane ParseBackplane(string name) => name.Trim().ToLowerInvariant() switch
    {
        "postgres" or "pg" => Backplane.Postgres,
        "redis" => Backplane.Redis,
        _ => throw new ArgumentException($"Unknown backplane '{name}': postgres or redis."),
    };
}
