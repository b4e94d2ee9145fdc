namespace PgNotifyHub.Server.Settings;

/// <summary>
/// A setting the server cannot start with. Its message names the setting and says what it may be: the server prints it,
/// without a stack trace, and exits with code 1.
/// </summary>
internal sealed class InvalidSettingException(string message) : InvalidOperationException(message);
