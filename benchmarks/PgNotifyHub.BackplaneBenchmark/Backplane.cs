namespace PgNotifyHub.BackplaneBenchmark;

internal enum Backplane
{
    Postgres,
    Redis,
}
