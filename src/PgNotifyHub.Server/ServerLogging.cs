using Microsoft.Extensions.Logging.Console;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>The console log in the format <c>Logging:Console:FormatterName</c> asks for: simple (the default), json or systemd.</summary>
internal static class ServerLogging
{
    private const string Section = "Logging:Console";

    private static readonly string[] Formatters = [ConsoleFormatterNames.Simple, ConsoleFormatterNames.Json, ConsoleFormatterNames.Systemd];

    /// <exception cref="InvalidSettingException">The formatter named is none of the three.</exception>
    public static void AddServerConsole(this WebApplicationBuilder builder)
    {
        var console = builder.Configuration.GetSection(Section);
        if (console["FormatterName"] is { Length: > 0 } name && !Formatters.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            throw new InvalidSettingException($"{Section}:FormatterName is '{name}'; it must be one of {string.Join(", ", Formatters)}.");
        }

        // The slim builder's console logger has only the simple formatter, and sets it over the configuration: this
        // adds the json and systemd ones (each bound to Logging:Console:FormatterOptions), then lets the setting choose.
        builder.Logging.AddConsole();
        builder.Services.Configure<ConsoleLoggerOptions>(console);
    }
}
