namespace PgNotifyHub.LoadTest;

/// <summary>
/// One measured configuration: bare (a plain LISTEN connection, no server), throughput (as fast as possible, in
/// batches) or latency (paced at a rate for a duration), with its transport and number of clients.
/// </summary>
internal sealed record DeliveryCase(string Scenario, Transport? Transport, int Clients, int Notifies, int BatchSize, int? RatePerSecond, TimeSpan? Duration)
{
    public bool IsPaced => RatePerSecond is not null;

    public string Label => Scenario switch
    {
        "bare" => "bare LISTEN x1",
        _ when RatePerSecond is { } rate => $"{Scenario} {Transport?.Name()} x{Clients} @{rate}/s",
        _ => $"{Scenario} {Transport?.Name()} x{Clients}",
    };

    public static DeliveryCase Bare(int notifies, int batchSize) => new("bare", null, 1, notifies, batchSize, null, null);

    public static DeliveryCase Throughput(Transport transport, int clients, int notifies, int batchSize) =>
        new("throughput", transport, clients, notifies, batchSize, null, null);

    public static DeliveryCase Latency(Transport transport, int clients, int ratePerSecond, TimeSpan duration) =>
        new("latency", transport, clients, (int)(ratePerSecond * duration.TotalSeconds), 100, ratePerSecond, duration);
}
