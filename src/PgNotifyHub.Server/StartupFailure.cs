using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>
/// Turns what stops the server at startup into one line an operator can act on, when it is their to fix: a setting
/// (<see cref="InvalidSettingException"/>, also made of an address that cannot be listened on) or the library's options
/// (<see cref="OptionsValidationException"/>). Anything else is a defect, and crashes with its stack trace.
/// </summary>
internal static partial class StartupFailure
{
    /// <summary>The exit code of a configuration or binding error: systemd's <c>RestartPreventExitStatus=1</c> keeps it from restarting in a loop.</summary>
    public const int ExitCode = 1;

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Whether errors are reported here: only when this server is the process's program. A test host that runs it
    /// in process (WebApplicationFactory) gets the exception itself.
    /// </summary>
    public static bool IsReportedHere => Assembly.GetEntryAssembly() == typeof(StartupFailure).Assembly;

    /// <summary>The message to print for <paramref name="exception"/>, or null when it is not a startup error an operator can fix.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        InvalidSettingException setting => setting.Message,
        OptionsValidationException options => string.Join(" ", options.Failures),
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(inner => Describe(inner) is not null) =>
            string.Join(" ", aggregate.InnerExceptions.Select(Describe)),
        _ => null,
    };

    /// <summary>Prints <paramref name="message"/> as the one line on standard error and returns <see cref="ExitCode"/>.</summary>
    public static int Report(string message)
    {
        // One line, so a log collector keeps it whole: some messages (Kestrel's about HTTPS) span several.
        Console.Error.WriteLine("PgNotifyHub.Server cannot start: " + LineBreaks().Replace(message, " "));
        return ExitCode;
    }

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex LineBreaks();

    /// <summary>
    /// Keeps the host's own "Hosting failed to start" error, with its stack trace, out of the log until the host has
    /// started: the failure is reported by <see cref="Report"/> in one line, or crashes with its stack trace.
    /// Everything else of the host's category is logged from Information on, as the default level says.
    /// </summary>
    public static void QuietUntilStarted(ILoggingBuilder logging, Func<bool> started) =>
        logging.Services.Configure<LoggerFilterOptions>(filters => filters.Rules.Add(new LoggerFilterRule(
            providerName: null,
            HostCategory,
            LogLevel.Information,
            (_, _, level) => level < LogLevel.Error || level == LogLevel.Critical || started())));
}
