using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PgNotifyHub.Server;

/// <summary>
/// Where the server listens: wherever ASP.NET Core's own settings say, in their usual order of precedence, and
/// pgws's port 8080 on localhost only when none of them is set.
/// </summary>
internal static class ServerAddresses
{
    /// <summary>The address when nothing else is configured: pgws's port, reachable from this machine only.</summary>
    public const string Default = "http://localhost:8080";

    private const string KestrelEndpoints = "Kestrel:Endpoints";

    private const string Settings = "--urls, ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS/HTTPS_PORTS or Kestrel:Endpoints";

    // The keys behind --urls, ASPNETCORE_URLS (or DOTNET_URLS, or "Urls" in a settings file), and
    // ASPNETCORE_HTTP_PORTS/HTTPS_PORTS, which every .NET container image sets.
    private static readonly string[] AddressKeys = ["urls", "http_ports", "https_ports"];

    /// <summary>Whether an address comes from any of ASP.NET Core's settings, including endpoints under <c>Kestrel:Endpoints</c>.</summary>
    public static bool AreConfigured(IConfiguration configuration) =>
        AddressKeys.Any(key => !string.IsNullOrWhiteSpace(configuration[key]))
        || configuration.GetSection(KestrelEndpoints).GetChildren().Any();

    /// <summary>Whether Kestrel failed to listen: an address in use, not of this machine, not allowed, or not an address at all.</summary>
    public static bool IsBindingFailure(Exception exception) =>
        exception is IOException { InnerException: AddressInUseException }
        || new StackTrace(exception).GetFrames().Any(frame =>
            DiagnosticMethodInfo.Create(frame)?.DeclaringTypeName.StartsWith("Microsoft.AspNetCore.Server.Kestrel.", StringComparison.Ordinal) == true);

    /// <summary>What an operator reads when Kestrel cannot listen: the address, why, and the settings that choose it.</summary>
    public static string BindingFailure(Exception exception, IConfiguration configuration)
    {
        if (exception is IOException { InnerException: AddressInUseException })
        {
            // Kestrel's message names the address: "Failed to bind to address http://127.0.0.1:8080: address already in use."
            return $"{exception.Message.TrimEnd('.')}: another process listens there. Stop it, or give this server another address: {Settings} (without any, it listens on {Default}).";
        }

        var hint = exception is SocketException socket
            ? socket.SocketErrorCode switch
            {
                SocketError.AddressNotAvailable => " The address must be one of this machine's, or 0.0.0.0/[::] for all of them.",
                SocketError.AccessDenied => " Ports below 1024 need root or the capability CAP_NET_BIND_SERVICE.",
                _ => "",
            }
            : "";
        return $"Cannot listen on {Describe(configuration)}: {exception.Message.TrimEnd('.')}.{hint} The address comes from {Settings} (without any, it is {Default}).";
    }

    // The configured addresses as the operator wrote them, so the message points at what to change.
    private static string Describe(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection(KestrelEndpoints).GetChildren()
            .Select(endpoint => $"{endpoint["Url"]} ({KestrelEndpoints}:{endpoint.Key})")
            .ToList();
        if (endpoints.Count > 0)
        {
            return string.Join(", ", endpoints);
        }

        if (!string.IsNullOrWhiteSpace(configuration["urls"]))
        {
            return configuration["urls"]!;
        }

        var ports = AddressKeys.Skip(1)
            .Where(key => !string.IsNullOrWhiteSpace(configuration[key]))
            .Select(key => $"port {configuration[key]} (ASPNETCORE_{key.ToUpperInvariant()})")
            .ToList();
        return ports.Count > 0 ? string.Join(", ", ports) : Default;
    }
}
