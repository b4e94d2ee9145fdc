using Microsoft.Extensions.Options;

namespace PgNotifyHub.Transports;

/// <summary>Counts the connections of both transports against <see cref="PgNotifyHubOptions.MaxConnections"/>.</summary>
internal sealed class ConnectionLimit(IOptions<PgNotifyHubOptions> options)
{
    private int _open;

    public int? Max => options.Value.MaxConnections;

    /// <summary>Takes a place, or returns false when all are taken; a place taken is given back with <see cref="Release"/>.</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _open) <= (Max ?? int.MaxValue))
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _open);

    public string Refusal => $"the server already holds its maximum of {Max} connections ({PgNotifyHubOptions.SectionName}:{nameof(PgNotifyHubOptions.MaxConnections)}).";
}
