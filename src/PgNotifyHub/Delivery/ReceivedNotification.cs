namespace PgNotifyHub.Delivery;

/// <summary>A NOTIFY as PostgreSQL delivered it, before parsing.</summary>
internal readonly record struct ReceivedNotification(string Channel, string Payload);
