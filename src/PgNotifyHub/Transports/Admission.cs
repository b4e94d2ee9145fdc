using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>What <see cref="ConnectionAdmission.AdmitAsync"/> decided.</summary>
/// <param name="Registration">The connection's registration; null when refused.</param>
/// <param name="StatusCode">The HTTP status that tells the client: 101 when admitted, else 403, 500 or 503.</param>
internal readonly record struct Admission<TSink>(Registration<TSink>? Registration, int StatusCode)
    where TSink : INotificationSink
{
    public static Admission<TSink> Refused(int statusCode) => new(null, statusCode);
}
