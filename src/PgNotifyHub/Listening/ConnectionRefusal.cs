using Npgsql;

namespace PgNotifyHub.Listening;

/// <summary>
/// The PostgreSQL errors that retrying alone cannot fix: wrong credentials, no pg_hba.conf entry or no such role, no
/// such database, no CONNECT privilege. The listener still retries, since someone may fix them without restarting the
/// process, but says at Error what to fix each time its backoff reaches its cap, instead of once.
/// </summary>
internal static class ConnectionRefusal
{
    /// <summary>What to fix for <paramref name="exception"/>; null when it is not a refusal retrying cannot fix.</summary>
    public static string? Hint(Exception exception) => exception is PostgresException postgres ? postgres.SqlState switch
    {
        PostgresErrorCodes.InvalidPassword =>
            "The password is wrong: check Password in the connection string (or PGPASSWORD), or the role's password.",
        PostgresErrorCodes.InvalidAuthorizationSpecification =>
            "No pg_hba.conf entry admits this host, user and database, or the role does not exist or may not log in: check Username in the connection string, the role (CREATE ROLE … LOGIN) and pg_hba.conf.",
        PostgresErrorCodes.InvalidCatalogName =>
            "The database does not exist: check Database in the connection string, or create it.",
        PostgresErrorCodes.InsufficientPrivilege =>
            "The role may not connect to this database: GRANT CONNECT ON DATABASE to it.",
        _ => null,
    } : null;

    /// <summary>The error as an operator reads it: the SQLSTATE and PostgreSQL's message, or the exception's message.</summary>
    public static string Describe(Exception exception) =>
        exception is PostgresException postgres ? $"{postgres.SqlState}: {postgres.MessageText}" : exception.Message;
}
