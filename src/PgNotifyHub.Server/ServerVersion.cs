using System.Reflection;

namespace PgNotifyHub.Server;

/// <summary>The version of this build, as <c>--version</c> prints it and the startup log names it.</summary>
internal static class ServerVersion
{
    /// <summary>The informational version: the package version, and the source revision when the build knew it.</summary>
    public static string Informational { get; } =
        typeof(ServerVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ServerVersion).Assembly.GetName().Version?.ToString()
        ?? "unknown";
}
