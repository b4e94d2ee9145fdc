namespace PgNotifyHub.Server.Settings;

/// <summary>The server's own settings, checked (<see cref="SettingsCheck"/>) and bound once at startup.</summary>
internal sealed record ServerSettings(
    AudiencesSettings Audiences,
    AuthenticationSettings Authentication,
    PathsSettings Paths,
    TopicsSettings Topics,
    DevNotifySettings DevNotify)
{
    /// <exception cref="InvalidSettingException">A key is unknown or a value cannot be read; the message names them.</exception>
    public static ServerSettings Read(IConfiguration configuration)
    {
        SettingsCheck.Check(configuration);
        // One call per type, not a generic helper: the binding generator writes code for the calls it sees with their types.
        return new(
            configuration.GetSection(AudiencesSettings.SectionName).Get<AudiencesSettings>() ?? new(),
            configuration.GetSection(AuthenticationSettings.SectionName).Get<AuthenticationSettings>() ?? new(),
            configuration.GetSection(PathsSettings.SectionName).Get<PathsSettings>() ?? new(),
            configuration.GetSection(TopicsSettings.SectionName).Get<TopicsSettings>() ?? new(),
            configuration.GetSection(DevNotifySettings.SectionName).Get<DevNotifySettings>() ?? new());
    }

    /// <summary>The value, or null when it is empty: the server's appsettings.json lists every key with an empty value.</summary>
    public static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
