namespace PgNotifyHub.ConsoleClient;

/// <summary>A typed payload: the one of <c>select pg_notify('pgws', 'default,{"message":"hello"}')</c>.</summary>
internal sealed record Greeting(string Message);
