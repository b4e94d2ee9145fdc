namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>How <see cref="ServerProcess"/> starts the standalone server: its command, arguments, environment and user.</summary>
public sealed record ServerLaunch
{
    /// <summary>The server this test project's build copied next to it, started with <c>dotnet</c>.</summary>
    public static IReadOnlyList<string> BuiltServer =>
        [System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "PgNotifyHub.Server.dll")];

    /// <summary>The program and its first arguments; <see cref="BuiltServer"/> unless set.</summary>
    public IReadOnlyList<string> Command { get; init; } = BuiltServer;

    /// <summary>Arguments after <see cref="Command"/> (and after <c>--urls</c> when <see cref="Urls"/> is set).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>
    /// Passed as <c>--urls</c> when not null: by default a port Kestrel picks on 127.0.0.1. Null leaves the address to
    /// the environment and the settings, as an operator who does not pass it does.
    /// </summary>
    public string? Urls { get; init; } = "http://127.0.0.1:0";

    /// <summary>
    /// Configuration keys (<c>PgNotifyHub:Channels:0</c>) and values, given as environment variables
    /// (<c>PgNotifyHub__Channels__0</c>) so a connection string with a password never shows in a process list.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Environment variables as they are named (<c>ASPNETCORE_HTTP_PORTS</c>), after <see cref="Settings"/>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Whether the server gets this test's environment besides what is given. False starts it with only
    /// <c>PATH</c> and what is given, as a container or a systemd unit does.
    /// </summary>
    public bool InheritEnvironment { get; init; } = true;

    /// <summary>The working directory (the content root); the test's output directory unless set.</summary>
    public string WorkingDirectory { get; init; } = AppContext.BaseDirectory;

    /// <summary>The account to run as (through <c>setpriv</c>, when this test runs as root); null for this test's own.</summary>
    public string? User { get; init; }
}
