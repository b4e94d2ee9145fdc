namespace PgNotifyHub.Sequencing;

/// <summary>
/// Something sent to many recipients (a notification, a resync notice) with room for each transport's encoding of
/// it: the first recipient of a transport makes it, and every other one of that transport sends the same bytes.
/// The sequencer knows nothing of what is kept here; each transport holds its own <see cref="EncodingKey{T}"/>.
/// </summary>
internal abstract class Encodable
{
    private object?[]? _encodings;

    /// <summary>Returns the encoding kept under <paramref name="key"/>, made by <paramref name="encode"/> the first time.</summary>
    public T GetOrAddEncoding<T, TState>(EncodingKey<T> key, TState state, Func<TState, T> encode)
        where T : class
    {
        if (Slots(key.Index)[key.Index] is T kept)
        {
            return kept;
        }

        // Made under the sequencer's lock, as every hand-over to recipients is; the exchange only keeps a racing
        // caller from seeing a half-made one. Making it may create another transport's key (its static fields are
        // initialised on first use) and grow the slots, so it is kept in the slots that are current once it is made.
        var made = encode(state);
        while (true)
        {
            var slots = Slots(key.Index);
            var before = Interlocked.CompareExchange(ref slots[key.Index], made, null);
            if (before is T other && !ReferenceEquals(other, made))
            {
                return other;
            }

            if (ReferenceEquals(Volatile.Read(ref _encodings), slots))
            {
                return made;
            }
        }
    }

    // The slots, grown to hold every key numbered so far when they cannot hold index.
    private object?[] Slots(int index)
    {
        var encodings = Volatile.Read(ref _encodings);
        while (encodings is null || encodings.Length <= index)
        {
            var grown = new object?[EncodingKey.Count];
            encodings?.CopyTo(grown, 0);
            var current = Interlocked.CompareExchange(ref _encodings, grown, encodings);
            encodings = ReferenceEquals(current, encodings) ? grown : current;
        }

        return encodings;
    }
}

/// <summary>Where one transport keeps one encoding on every <see cref="Encodable"/>.</summary>
/// <typeparam name="T">What the transport keeps: its bytes, or a message object that caches them.</typeparam>
internal sealed class EncodingKey<T>
    where T : class
{
    public int Index { get; } = EncodingKey.Next();
}

/// <summary>Numbers the <see cref="EncodingKey{T}"/>s, which transports create once, as static fields.</summary>
internal static class EncodingKey
{
    private static int _count;

    public static int Count => Volatile.Read(ref _count);

    public static int Next() => Interlocked.Increment(ref _count) - 1;
}
