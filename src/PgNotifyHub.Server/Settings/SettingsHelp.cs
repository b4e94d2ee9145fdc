using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Text;

namespace PgNotifyHub.Server.Settings;

/// <summary>
/// The text of <c>--help</c>: every setting of <see cref="SettingsSchema"/> with its default and one line about it (the
/// library's options from their XML documentation, the server's own from their <see cref="DescriptionAttribute"/>), then
/// the hosting settings ASP.NET Core reads itself.
/// </summary>
internal static class SettingsHelp
{
    // Read by ASP.NET Core and .NET, not bound to a type of this server: described here, once.
    private static readonly (string Key, string Default, string Description)[] Hosting =
    [
        ("--urls, ASPNETCORE_URLS", ServerAddresses.Default + " when no address setting is given",
            "Listening addresses, separated by ';'. Wins over ASPNETCORE_HTTP_PORTS; replaced by Kestrel:Endpoints."),
        ("ASPNETCORE_HTTP_PORTS, ASPNETCORE_HTTPS_PORTS", "(none; .NET container images set HTTP_PORTS=8080)",
            "Ports to listen on, on every address."),
        ("Kestrel:Endpoints:<name>:Url, …:Certificate:Path, …:Certificate:KeyPath", "(none)",
            "Kestrel endpoints, e.g. HTTPS with a certificate; they replace every other address setting."),
        ("ASPNETCORE_ENVIRONMENT", "Production", "The environment: appsettings.{Environment}.json is read over appsettings.json."),
        ("Logging:LogLevel:<category>", "Default: Information, Microsoft.AspNetCore: Warning",
            "Log levels by category, e.g. Logging:LogLevel:PgNotifyHub=Debug."),
        ("Logging:Console:FormatterName", "simple",
            "simple, json (one JSON object per line) or systemd (syslog priority prefixes, for journald)."),
        ("Logging:Console:FormatterOptions:IncludeScopes", "false",
            "Writes log scopes: the connection id and transport of a connection's logs, the request's id."),
        ("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "false", "Applies X-Forwarded-For and X-Forwarded-Proto from a reverse proxy."),
    ];

    public static string Text()
    {
        var shipped = new ConfigurationBuilder().SetBasePath(AppContext.BaseDirectory).AddJsonFile("appsettings.json", optional: true).Build();
        var library = XmlDocumentation.Of(typeof(PgNotifyHubOptions).Assembly);
        var text = new StringBuilder();
        text.AppendLine($"PgNotifyHub.Server {ServerVersion.Informational}: pushes PostgreSQL NOTIFY messages to SignalR, WebSocket and Server-Sent Events clients.");
        text.AppendLine();
        text.AppendLine("Usage: PgNotifyHub.Server [--urls <addresses>] [--<Section>:<Key>=<value> …]");
        text.AppendLine("       PgNotifyHub.Server --help | --version");
        text.AppendLine();
        text.AppendLine("Settings come from appsettings.json, appsettings.{Environment}.json, environment variables (Section__Key,");
        text.AppendLine("e.g. PgNotifyHub__Channels__0=orders) and the command line (--Section:Key=value); a later source wins.");
        text.AppendLine("An unknown key or a value a setting cannot take stops the server, naming it. Defaults are this build's.");
        foreach (var section in SettingsSchema.Sections)
        {
            text.AppendLine();
            text.AppendLine(section.Path);
            foreach (var setting in section.Leaves())
            {
                text.AppendLine($"  {setting.Path} = {Default(setting, shipped)}");
                text.AppendLine($"      {Description(setting, library)}");
            }
        }

        text.AppendLine();
        text.AppendLine("Hosting (ASP.NET Core's own settings)");
        foreach (var (key, defaultValue, description) in Hosting)
        {
            text.AppendLine($"  {key} = {defaultValue}");
            text.AppendLine($"      {description}");
        }

        return text.ToString();
    }

    private static string Description(Setting setting, XmlDocumentation library)
    {
        var description = setting.Property?.GetCustomAttributes(typeof(DescriptionAttribute), inherit: false).OfType<DescriptionAttribute>().FirstOrDefault()?.Description
            ?? (setting.Property is null ? null : library.FirstSentence(setting.Property))
            ?? "(undocumented)";
        var values = Nullable.GetUnderlyingType(setting.Type) ?? setting.Type;
        if (values.IsEnum)
        {
            description += " One of " + string.Join(", ", Enum.GetNames(values)) + ".";
        }

        return setting.NotConfigurable is { } reason ? $"{description} Not configurable here: {reason}." : description;
    }

    // What this build starts with: the shipped appsettings.json where it sets the key, else the type's own default.
    private static string Default(Setting setting, IConfiguration shipped)
    {
        var configured = shipped.GetSection(setting.Path);
        if (setting.IsList && configured.GetChildren().Any())
        {
            return "[" + string.Join(", ", configured.GetChildren().Select(item => item.Value)) + "]";
        }

        if (!setting.IsList && configured.Value is { } value)
        {
            // JSON's true reaches configuration as True.
            return value.Length == 0 ? "(empty)" : setting.Type == typeof(bool) ? value.ToLowerInvariant() : value;
        }

        return setting.Default switch
        {
            null when typeof(Delegate).IsAssignableFrom(setting.Type) => "(code)",
            null => "(none)",
            string { Length: 0 } => "(empty)",
            string text => text,
            bool flag => flag ? "true" : "false",
            TimeSpan duration => duration.ToString("c", CultureInfo.InvariantCulture),
            Delegate => "(code)",
            IEnumerable items => "[" + string.Join(", ", items.Cast<object>()) + "]",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            var other => other.ToString() ?? "(none)",
        };
    }
}
