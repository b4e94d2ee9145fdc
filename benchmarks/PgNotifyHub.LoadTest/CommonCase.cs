namespace PgNotifyHub.LoadTest;

/// <summary>
/// One run of the common shape: <paramref name="Clients"/> clients of one system, one NOTIFY per transaction at
/// <paramref name="RatePerSecond"/> from several sessions, for <paramref name="Duration"/>. The system is
/// <c>websocket</c> or <c>signalr</c> (PgNotifyHub.Server), <c>bun</c> (the reference bridge, raw WebSocket) or
/// <c>listen</c> (one plain LISTEN connection, no server: PostgreSQL's own part).
/// </summary>
internal sealed record CommonCase(string System, int Clients, int RatePerSecond, TimeSpan Duration)
{
    public const string Listen = "listen";
    public const string Bun = "bun";

    public int Notifies => (int)(RatePerSecond * Duration.TotalSeconds);

    public string Label => System == Listen ? $"bare LISTEN x1 @{RatePerSecond}/s" : $"{System} x{Clients:N0} @{RatePerSecond}/s";

    /// <summary>The transport its clients use: Bun's bridge speaks the raw protocol.</summary>
    public Transport? Transport => System switch
    {
        Listen => null,
        Bun => LoadTest.Transport.WebSocket,
        _ => TransportNames.Parse(System),
    };
}
