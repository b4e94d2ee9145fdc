namespace PgNotifyHub.LoadTest;

/// <summary>One statement of notifies: its sequence numbers and the Stopwatch timestamp right after its commit returned.</summary>
internal readonly record struct BatchRecord(long FirstSequence, int Count, long CommittedAt);
