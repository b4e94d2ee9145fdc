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
        return new(
            Bind<AudiencesSettings>(configuration, AudiencesSettings.SectionName),
            Bind<AuthenticationSettings>(configuration, AuthenticationSettings.SectionName),
            Bind<PathsSettings>(configuration, PathsSettings.SectionName),
            Bind<TopicsSettings>(configuration, TopicsSettings.SectionName),
            Bind<DevNotifySettings>(configuration, DevNotifySettings.SectionName));
    }

    /// <summary>The value, or null when it is empty: the server's appsettings.json lists every key with an empty value.</summary>
    public static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new() =>
        configuration.GetSection(section).Get<T>() ?? new T();
}
