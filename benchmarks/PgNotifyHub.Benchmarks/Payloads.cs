namespace PgNotifyHub.Benchmarks;

/// <summary>NOTIFY payloads as a trigger would send them: a small row, and one near PostgreSQL's 7,999-byte limit.</summary>
public static class Payloads
{
    public const string Channel = "orders";

    public static string Create(int bytes)
    {
        const string head = "acme,{\"order\":42,\"status\":\"shipped\",\"note\":\"";
        const string tail = "\"}";
        return head + new string('x', Math.Max(0, bytes - head.Length - tail.Length)) + tail;
    }
}
