namespace PgNotifyHub.LoadTest;

/// <summary>A bad command line: printed with the usage text, exit code 64.</summary>
internal sealed class UsageException(string message) : Exception(message);
