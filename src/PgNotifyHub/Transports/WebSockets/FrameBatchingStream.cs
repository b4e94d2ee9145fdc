using System.Buffers;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The upgraded connection of one raw WebSocket, under the WebSocket. The sink writes each notification's
/// ready-made frame to it directly, so the bytes framed once per message go to every socket without being
/// copied; the WebSocket writes its own frames (pongs, pings, the close) through it too. Each write is one whole
/// frame, and writes are serialised, so frames never interleave.
/// </summary>
/// <remarks>
/// While a batch is open, frames are gathered and go out with one write and one flush when it ends: Kestrel
/// flushes every write of an upgraded connection, and a flush is a wake-up of its sender, and often a system
/// call, of its own.
/// </remarks>
internal sealed class FrameBatchingStream(Stream inner) : Stream
{
    // Enough for a few frames of the largest NOTIFY; a larger batch goes out in several writes.
    private const int BatchCapacity = 64 * 1024;

    // Writes come from the sender's loop and from the WebSocket's keep-alive and pong replies.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[]? _batch;
    private int _batched;
    private bool _batching;

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Gathers what is written until <see cref="EndBatchAsync"/>. Called by the one sending loop.</summary>
    public void BeginBatch() => Volatile.Write(ref _batching, true);

    /// <summary>Writes what was gathered, with one flush, and stops gathering.</summary>
    public async ValueTask EndBatchAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            Volatile.Write(ref _batching, false);
            await WriteBatchAsync(CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _batching))
            {
                if (_batched + buffer.Length > BatchCapacity)
                {
                    await WriteBatchAsync(cancellationToken);
                }

                if (buffer.Length <= BatchCapacity)
                {
                    _batch ??= ArrayPool<byte>.Shared.Rent(BatchCapacity);
                    buffer.Span.CopyTo(_batch.AsSpan(_batched));
                    _batched += buffer.Length;
                    return;
                }
            }

            await inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The WebSocket reads asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The WebSocket writes asynchronously.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    // Returns the buffer to the pool after each batch, so idle sockets hold none.
    private async ValueTask WriteBatchAsync(CancellationToken cancellationToken)
    {
        if (_batch is not { } batch)
        {
            return;
        }

        var length = _batched;
        _batch = null;
        _batched = 0;
        try
        {
            await inner.WriteAsync(batch.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }
}
