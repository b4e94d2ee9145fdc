using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PgNotifyHub.Postgres;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The backplane's own small connection pool, apart from the listener's single session, and the table of messages too
/// large for a NOTIFY payload.
/// </summary>
internal sealed class BackplaneDatabase : IAsyncDisposable
{
    // The publisher keeps one open; the rest serve reads of spilled messages and the cleanup.
    private const int MaxPoolSize = 4;

    private readonly PgNotifyHubBackplaneOptions _options;
    private readonly ILogger<BackplaneDatabase> _logger;
    private readonly bool _ownsDataSource;
    private readonly SemaphoreSlim _installLock = new(1, 1);
    private bool _installed;

    public BackplaneDatabase(
        IOptions<PgNotifyHubOptions> hubOptions,
        IOptions<PgNotifyHubBackplaneOptions> options,
        IServiceProvider services,
        ILogger<BackplaneDatabase> logger)
    {
        _options = options.Value;
        _logger = logger;
        DataSource = DataSources.Get(hubOptions.Value, services, "PgNotifyHub backplane", static connection =>
        {
            connection.MaxPoolSize = MaxPoolSize;
            connection.Enlist = false;
            // The publisher runs the same few statements all day: prepared, they skip parsing and planning.
            connection.MaxAutoPrepare = 8;
            // NOTIFY is not durable (a crash empties PostgreSQL's queue) and spilled rows are unlogged, so waiting for
            // the commit's WAL flush would only slow every publish down.
            connection.Options = (connection.Options + " -c synchronous_commit=off").Trim();
        }, out _ownsDataSource);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>The script that creates the spill table, as shipped in <c>sql/pgnotifyhub-backplane.sql</c>.</summary>
    public static string InstallScript() => EmbeddedSql.Read(typeof(BackplaneDatabase).Assembly, "PgNotifyHub.Backplane.sql");

    /// <summary>Applies the install script once per process, if <see cref="PgNotifyHubBackplaneOptions.InstallSchema"/>.</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (!_options.InstallSchema || Volatile.Read(ref _installed))
        {
            return;
        }

        await _installLock.WaitAsync(cancellationToken);
        try
        {
            if (!_installed)
            {
                await using var command = DataSource.CreateCommand(InstallScript());
                await command.ExecuteNonQueryAsync(cancellationToken);
                Volatile.Write(ref _installed, true);
                Log.BackplaneSchemaInstalled(_logger);
            }
        }
        finally
        {
            _installLock.Release();
        }
    }

    /// <summary>The spilled message of <paramref name="id"/>, or null when it was already deleted.</summary>
    public async Task<byte[]?> ReadSpilledAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("SELECT payload FROM pgnotifyhub.backplane_messages WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        return (byte[]?)await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>Deletes every node's spilled messages older than the retention, so a node that died leaves none behind.</summary>
    public async Task DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("DELETE FROM pgnotifyhub.backplane_messages WHERE created_at < now() - $1");
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.SpillRetention });
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        Log.BackplaneSpillCleanedUp(_logger, deleted, _options.SpillRetention);
    }

    public async ValueTask DisposeAsync()
    {
        _installLock.Dispose();
        if (_ownsDataSource)
        {
            await DataSource.DisposeAsync();
        }
    }
}
