namespace PgNotifyHub.Backplane;

/// <summary>Whom an invocation frame is for; its targets name the connections, groups or users.</summary>
internal enum BackplaneAudience : byte
{
    All = 0,
    Connections = 1,
    Groups = 2,
    Users = 3,
}
