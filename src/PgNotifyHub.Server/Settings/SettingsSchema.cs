using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace PgNotifyHub.Server.Settings;

/// <summary>
/// Every setting the server reads, derived by reflection from the types bound to them, so the list cannot fall behind
/// the code: the library's options (each public type of the library with a <c>SectionName</c> constant, nested by that
/// name, so <c>PgNotifyHub:Backplane</c> sits under <c>PgNotifyHub</c>) and the server's own settings types.
/// </summary>
internal static class SettingsSchema
{
    /// <summary>Why the reflection here is safe when the server is trimmed or compiled ahead of time.</summary>
    public const string SettingsTypesAreRooted =
        "The settings types are in PgNotifyHub and PgNotifyHub.Server, which the server's project roots whole (TrimmerRootAssembly): "
        + "every type, property and constructor is kept, with its metadata.";

    // Options the library binds that this server sets otherwise; an operator who configures them must be told.
    private static readonly Dictionary<string, string> SetByTheServer = new(StringComparer.OrdinalIgnoreCase)
    {
        [$"{PgNotifyHubOptions.SectionName}:{nameof(PgNotifyHubOptions.ConnectionString)}"] =
            $"this server reads its database from {ConnectionStringsSettings.SectionName}:{nameof(ConnectionStringsSettings.Postgres)}",
        [$"{PgNotifyHubOptions.SectionName}:{nameof(PgNotifyHubOptions.AudienceResolver)}"] =
            $"it is code; this server sets it from {AudiencesSettings.SectionName}:*",
    };

    /// <summary>The sections, in the order <c>--help</c> lists them.</summary>
    public static IReadOnlyList<Setting> Sections { get; } = Build();

    /// <summary>The setting at <paramref name="path"/>, or null.</summary>
    public static Setting? Find(string path) =>
        Sections.SelectMany(Flatten).FirstOrDefault(setting => string.Equals(setting.Path, path, StringComparison.OrdinalIgnoreCase));

    public static IEnumerable<Setting> Flatten(Setting setting) => [setting, .. setting.Children.SelectMany(Flatten)];

    private static List<Setting> Build()
    {
        // ConnectionStrings may hold the application's other connection strings, and Metrics is read by ServerMetrics,
        // whose keys are its own: both are described, and neither refuses keys it does not know.
        var sections = new List<Setting> { Section(ConnectionStringsSettings.SectionName, typeof(ConnectionStringsSettings), refusesUnknownKeys: false) };
        sections.AddRange(LibrarySections());
        sections.Add(Section(AudiencesSettings.SectionName, typeof(AudiencesSettings), refusesUnknownKeys: true));
        sections.Add(Section(AuthenticationSettings.SectionName, typeof(AuthenticationSettings), refusesUnknownKeys: true));
        sections.Add(Section(PathsSettings.SectionName, typeof(PathsSettings), refusesUnknownKeys: true));
        sections.Add(Section(TopicsSettings.SectionName, typeof(TopicsSettings), refusesUnknownKeys: true));
        sections.Add(Section(DevNotifySettings.SectionName, typeof(DevNotifySettings), refusesUnknownKeys: true));
        sections.Add(Section(MetricsSettings.SectionName, typeof(MetricsSettings), refusesUnknownKeys: false));
        return sections;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SettingsTypesAreRooted)]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = SettingsTypesAreRooted)]
    [UnconditionalSuppressMessage("Trimming", "IL2077", Justification = SettingsTypesAreRooted)]
    private static List<Setting> LibrarySections()
    {
        var bound = typeof(PgNotifyHubOptions).Assembly.GetExportedTypes()
            .Select(type => (Type: type, Field: type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(candidate => candidate.Field is { IsLiteral: true } && candidate.Field.FieldType == typeof(string))
            .Select(candidate => (Path: (string)candidate.Field!.GetRawConstantValue()!, candidate.Type))
            .OrderBy(section => section.Path.Length);

        // A section bound by a type of its own goes into the section its name is in: PgNotifyHub:Backplane into PgNotifyHub.
        var roots = new List<Setting>();
        var keysOf = new Dictionary<string, List<Setting>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (path, type) in bound)
        {
            var keys = Properties(path, type, Activator.CreateInstance(type), refusesUnknownKeys: true);
            keysOf[path] = keys;
            var section = Section(path, type, keys, refusesUnknownKeys: true);
            var parent = path.LastIndexOf(':') is var at and > 0 ? path[..at] : null;
            (parent is not null && keysOf.TryGetValue(parent, out var siblings) ? siblings : roots).Add(section);
        }

        return roots;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = SettingsTypesAreRooted)]
    private static Setting Section(string path, Type type, bool refusesUnknownKeys) =>
        Section(path, type, Properties(path, type, Activator.CreateInstance(type), refusesUnknownKeys), refusesUnknownKeys);

    private static Setting Section(string path, Type type, List<Setting> keys, bool refusesUnknownKeys) => new()
    {
        Path = path,
        Name = path[(path.LastIndexOf(':') + 1)..],
        Type = type,
        RefusesUnknownKeys = refusesUnknownKeys,
        Children = keys,
    };

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = SettingsTypesAreRooted)]
    private static List<Setting> Properties(string path, Type type, object? defaults, bool refusesUnknownKeys)
    {
        var settings = new List<Setting>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var settingPath = path + ":" + property.Name;
            var value = defaults is null ? null : property.GetValue(defaults);
            var settable = property.SetMethod is { IsPublic: true };
            if (!settable && !IsNested(property.PropertyType))
            {
                // Computed, like AuthenticationSettings.JwtConfigured: nothing to configure.
                continue;
            }

            settings.Add(new Setting
            {
                Path = settingPath,
                Name = property.Name,
                Type = property.PropertyType,
                Property = property,
                Default = value,
                RefusesUnknownKeys = refusesUnknownKeys,
                Children = IsNested(property.PropertyType) ? Properties(settingPath, property.PropertyType, value, refusesUnknownKeys) : [],
                NotConfigurable = SetByTheServer.GetValueOrDefault(settingPath)
                    ?? (typeof(Delegate).IsAssignableFrom(property.PropertyType) ? "it is code" : null),
            });
        }

        return settings;
    }

    // A class of settings of its own, bound as a section (PgNotifyHubOptions.Outbox, AuthenticationSettings.Jwt).
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = SettingsTypesAreRooted)]
    private static bool IsNested(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(Delegate).IsAssignableFrom(type) && !typeof(IEnumerable).IsAssignableFrom(type)
        && type.GetConstructor(Type.EmptyTypes) is not null;
}
