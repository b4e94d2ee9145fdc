namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>The <c>[Service]</c> section of deploy/pgnotifyhub.service: each key with its values, in order.</summary>
internal sealed class SystemdUnit
{
    private readonly Dictionary<string, List<string>> _service;

    private SystemdUnit(Dictionary<string, List<string>> service) => _service = service;

    public static SystemdUnit Load(string path)
    {
        var service = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var section = "";
        foreach (var line in File.ReadLines(path).Select(line => line.Trim()))
        {
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
            {
                continue;
            }

            if (line.StartsWith('['))
            {
                section = line;
                continue;
            }

            var at = line.IndexOf('=', StringComparison.Ordinal);
            if (section == "[Service]" && at > 0)
            {
                var key = line[..at];
                if (!service.TryGetValue(key, out var values))
                {
                    service[key] = values = [];
                }

                values.Add(line[(at + 1)..]);
            }
        }

        return new SystemdUnit(service);
    }

    public string? this[string key] => _service.TryGetValue(key, out var values) ? values[^1] : null;

    /// <summary>The variables of every <c>Environment=</c> line (one assignment per line, as this unit writes them).</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        (_service.GetValueOrDefault("Environment") ?? []).Select(assignment => assignment.Trim('"').Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);

    /// <summary><c>ExecStart=</c> split into words; none of this unit's has quotes or spaces in a word.</summary>
    public IReadOnlyList<string> ExecStart => (this["ExecStart"] ?? throw new InvalidOperationException("The unit has no ExecStart.")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
