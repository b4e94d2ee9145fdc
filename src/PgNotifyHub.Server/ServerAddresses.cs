namespace PgNotifyHub.Server;

/// <summary>
/// Where the server listens: wherever ASP.NET Core's own settings say, in their usual order of precedence, and
/// pgws's port 8080 on localhost only when none of them is set.
/// </summary>
internal static class ServerAddresses
{
    /// <summary>The address when nothing else is configured: pgws's port, reachable from this machine only.</summary>
    public const string Default = "http://localhost:8080";

    // The keys behind --urls, ASPNETCORE_URLS (or DOTNET_URLS, or "Urls" in a settings file), and
    // ASPNETCORE_HTTP_PORTS/HTTPS_PORTS, which every .NET container image sets.
    private static readonly string[] AddressKeys = ["urls", "http_ports", "https_ports"];

    /// <summary>Whether an address comes from any of ASP.NET Core's settings, including endpoints under <c>Kestrel:Endpoints</c>.</summary>
    public static bool AreConfigured(IConfiguration configuration) =>
        AddressKeys.Any(key => !string.IsNullOrWhiteSpace(configuration[key]))
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
}
