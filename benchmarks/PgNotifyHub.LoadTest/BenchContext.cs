using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.LoadTest;

/// <summary>What the scenarios share: the options, PostgreSQL, the server under test, the sender, and the numbering of runs and messages.</summary>
internal sealed class BenchContext : IAsyncDisposable
{
    private NotifyGenerator? _generator;
    private long _nextSequence = 1;
    private long _nextRunId = 1;

    public BenchContext(BenchmarkOptions options, string postgresConnectionString, LocalPostgresCluster? cluster, string serverLogPath)
    {
        Options = options;
        PostgresConnectionString = postgresConnectionString;
        Cluster = cluster;
        ServerLogPath = serverLogPath;
    }

    public BenchmarkOptions Options { get; }

    public string PostgresConnectionString { get; }

    public LocalPostgresCluster? Cluster { get; }

    public string ServerLogPath { get; }

    public string? ServerAssembly { get; set; }

    public BenchServer? Server { get; private set; }

    /// <summary>The server's channel; the bare LISTEN client uses its own so that the server does no work meanwhile.</summary>
    public string Channel => Options.Channel;

    public string BareChannel => Options.Channel + "_bare";

    public int? PostmasterPid => Cluster?.PostmasterPid;

    public long NextRunId() => _nextRunId++;

    /// <summary>Reserves <paramref name="count"/> sequence numbers, unique within this process, and returns the first.</summary>
    public long AllocateSequences(int count)
    {
        var first = _nextSequence;
        _nextSequence += count;
        return first;
    }

    public async Task<NotifyGenerator> GeneratorAsync(CancellationToken cancellationToken)
    {
        if (_generator is { IsUsable: false })
        {
            await _generator.DisposeAsync();
            _generator = null;
        }

        return _generator ??= await NotifyGenerator.OpenAsync(PostgresConnectionString, cancellationToken);
    }

    public async Task<BenchServer> StartOrAttachServerAsync(CancellationToken cancellationToken)
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
            Server = null;
        }

        Server = Options.ServerUrl is { } url
            ? await BenchServer.AttachAsync(url, Options.ServerPid, cancellationToken)
            : await BenchServer.StartAsync(ServerAssembly!, ServerConnectionString(), Channel, Options.ServerSettings, ServerLogPath, cancellationToken);
        return Server;
    }

    /// <summary>Replaces the server under test with the reference bridge on Bun.</summary>
    public async Task<BenchServer> StartBunAsync(CancellationToken cancellationToken)
    {
        await StopServerAsync();
        var (bun, script) = Options.Bun ?? throw new InvalidOperationException("No Bun: pass --bun PATH (benchmarks/run.sh installs it).");
        Server = await BenchServer.StartBunAsync(bun, script, PostgresConnectionString, Channel, ServerLogPath, cancellationToken);
        return Server;
    }

    /// <summary>Stops the server under test; the next run that needs PgNotifyHub.Server starts it again.</summary>
    public async Task StopServerAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
            Server = null;
        }
    }

    /// <summary>A started server that has exited (crashed) is started again before the next run.</summary>
    public async Task<BenchServer> RunningServerAsync(CancellationToken cancellationToken)
    {
        if (Server is null || Server.HasExited || Server.IsReference)
        {
            Console.WriteLine("  (the server is not running: starting it again)");
            return await StartOrAttachServerAsync(cancellationToken);
        }

        return Server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_generator is not null)
        {
            await _generator.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    private string ServerConnectionString() =>
        new NpgsqlConnectionStringBuilder(PostgresConnectionString) { ApplicationName = "PgNotifyHub" }.ConnectionString;
}
