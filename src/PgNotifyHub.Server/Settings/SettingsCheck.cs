using System.Globalization;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace PgNotifyHub.Server.Settings;

/// <summary>
/// Checks the configuration against <see cref="SettingsSchema"/> before anything reads it, so that a typo stops the
/// server instead of being ignored: keys it does not know (with the closest one it does), values its settings cannot
/// take (with what they may be), and keys that cannot be configured here.
/// </summary>
internal static class SettingsCheck
{
    // Two edits catch a swapped pair of letters (Capasity, hots) without suggesting unrelated names.
    private const int MaxSuggestionDistance = 2;

    /// <exception cref="InvalidSettingException">Naming every problem found, on one line.</exception>
    public static void Check(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var section in SettingsSchema.Sections)
        {
            CheckSection(configuration, configuration.GetSection(section.Path), section, problems);
        }

        if (problems.Count > 0)
        {
            throw new InvalidSettingException(string.Join(" ", problems) + " Run with --help for every setting.");
        }
    }

    private static void CheckSection(IConfiguration root, IConfigurationSection configured, Setting section, List<string> problems)
    {
        if (!string.IsNullOrEmpty(configured.Value) && section.Children.Count > 0)
        {
            problems.Add($"{section.Path}{Source(root, configured)} is a section, not a value: set its keys, e.g. {section.Children[0].Path}.");
        }

        foreach (var child in configured.GetChildren())
        {
            var setting = section.Children.FirstOrDefault(known => string.Equals(known.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (setting is not null)
            {
                CheckSetting(root, child, setting, problems);
            }
            else if (section.RefusesUnknownKeys)
            {
                problems.Add(Unknown(root, child, section));
            }
        }
    }

    private static void CheckSetting(IConfiguration root, IConfigurationSection configured, Setting setting, List<string> problems)
    {
        var children = configured.GetChildren().ToList();
        if (setting.NotConfigurable is { } reason)
        {
            if (!string.IsNullOrEmpty(configured.Value) || children.Count > 0)
            {
                problems.Add($"{setting.Path}{Source(root, configured)} cannot be configured here: {reason}.");
            }

            return;
        }

        if (setting.IsSection)
        {
            CheckSection(root, configured, setting, problems);
            return;
        }

        if (setting.IsList)
        {
            if (children.Count == 0 && !string.IsNullOrEmpty(configured.Value))
            {
                problems.Add($"{setting.Path}{Source(root, configured)} is a list: give its items as {setting.Path}:0, {setting.Path}:1… "
                    + $"(environment variables {Variable(setting.Path)}__0, {Variable(setting.Path)}__1…).");
            }

            foreach (var item in children)
            {
                if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _) || item.GetChildren().Any())
                {
                    problems.Add($"{item.Path}{Source(root, item)} is not an item of the list {setting.Path}: number its items from 0, e.g. {setting.Path}:0.");
                }
                else if (Problem(setting.ItemType, item.Value) is { } allowed)
                {
                    problems.Add($"{item.Path}{Source(root, item)} is '{item.Value}'; it must be {allowed}.");
                }
            }

            return;
        }

        if (children.Count > 0)
        {
            problems.Add($"{children[0].Path}{Source(root, children[0])} is not a setting: {setting.Path} is a single value.");
        }
        else if (Problem(setting.Type, configured.Value) is { } allowed)
        {
            problems.Add($"{setting.Path}{Source(root, configured)} is '{configured.Value}'; it must be {allowed}.");
        }
    }

    private static string Unknown(IConfiguration root, IConfigurationSection configured, Setting section)
    {
        var closest = Closest(configured.Key, section.Children.Where(known => known.NotConfigurable is null).Select(known => known.Name)) is { } name
            ? new List<string> { section.Path + ":" + name }
            : [];
        if (closest.Count == 0)
        {
            // A key put in the wrong section: Authentication:Audience for Authentication:Jwt:Audience.
            closest = [.. SettingsSchema.Sections.SelectMany(SettingsSchema.Flatten)
                .Where(known => known.NotConfigurable is null && string.Equals(known.Name, configured.Key, StringComparison.OrdinalIgnoreCase))
                .Select(known => known.Path)];
        }

        var suggestion = closest.Count == 0 ? "" : "; did you mean " + string.Join(" or ", closest) + "?";
        return $"{configured.Path}{Source(root, configured)} is not a setting of this server{suggestion}{(suggestion.Length == 0 ? "." : "")}";
    }

    /// <summary>What a value must be to convert to <paramref name="type"/> as the configuration binder converts it; null when it does.</summary>
    public static string? Problem(Type type, string? value)
    {
        if (value is null || type == typeof(string))
        {
            return null;
        }

        var nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null && value.Length == 0)
        {
            return null;
        }

        var target = nullable ?? type;
        var invariant = CultureInfo.InvariantCulture;
        if (target.IsEnum)
        {
            // Names only: the binder would also take a number or a comma-separated list, which no operator means.
            var names = Enum.GetNames(target);
            return names.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase) ? null : "one of " + string.Join(", ", names);
        }

        return target switch
        {
            _ when target == typeof(bool) => bool.TryParse(value, out _) ? null : "true or false",
            _ when target == typeof(TimeSpan) => TimeSpan.TryParse(value, invariant, out _) ? null : "a duration written [d.]hh:mm:ss[.fff], e.g. 00:00:15",
            _ when target == typeof(int) => int.TryParse(value, NumberStyles.Integer, invariant, out _) ? null : "a whole number",
            _ when target == typeof(long) => long.TryParse(value, NumberStyles.Integer, invariant, out _) ? null : "a whole number",
            _ when target == typeof(double) => double.TryParse(value, NumberStyles.Float, invariant, out _) ? null : "a number, e.g. 0.5",
            _ => null,
        };
    }

    // Which source set the key, so the operator knows where to fix it: the last one that has it wins.
    private static string Source(IConfiguration root, IConfigurationSection configured)
    {
        if (root is not IConfigurationRoot withProviders || configured.Value is null)
        {
            return "";
        }

        var provider = withProviders.Providers.LastOrDefault(provider => provider.TryGet(configured.Path, out _));
        return provider switch
        {
            EnvironmentVariablesConfigurationProvider => $" (environment variable {Variable(configured.Path)})",
            CommandLineConfigurationProvider => " (command line)",
            FileConfigurationProvider file => $" ({file.Source.Path})",
            _ => "",
        };
    }

    private static string Variable(string path) => path.Replace(":", "__", StringComparison.Ordinal);

    // Levenshtein distance, ignoring case as configuration keys do.
    private static int Distance(string a, string b)
    {
        a = a.ToUpperInvariant();
        b = b.ToUpperInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>The closest of <paramref name="known"/> to <paramref name="name"/>, within two edits; null when none is.</summary>
    public static string? Closest(string name, IEnumerable<string> known) =>
        known.Select(candidate => (Candidate: candidate, Distance: Distance(name, candidate)))
            .Where(candidate => candidate.Distance <= MaxSuggestionDistance)
            .OrderBy(candidate => candidate.Distance)
            .Select(candidate => candidate.Candidate)
            .FirstOrDefault();
}
