using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>What deploy/Dockerfile declares: its build stage's copies and publish command, and its final stage's image settings.</summary>
internal sealed record DockerfileRecipe(
    string BaseImage,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<int> ExposedPorts,
    string User,
    string WorkingDirectory,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> CopiedFromContext,
    IReadOnlyList<string> PublishArguments)
{
    public static DockerfileRecipe Load(string path)
    {
        var environment = new Dictionary<string, string>();
        var exposed = new List<int>();
        var copied = new List<string>();
        IReadOnlyList<string> publish = [];
        string? baseImage = null, user = null, workingDirectory = null;
        IReadOnlyList<string>? entrypoint = null;
        foreach (var (instruction, arguments) in Instructions(path))
        {
            switch (instruction)
            {
                case "FROM":
                    // Each stage starts afresh; what is kept is the last one's, the image's.
                    baseImage = arguments.Split(' ')[0];
                    (environment, exposed, user, workingDirectory, entrypoint) = ([], [], null, null, null);
                    break;
                case "ENV":
                    var at = arguments.IndexOf('=', StringComparison.Ordinal);
                    environment[arguments[..at].Trim()] = arguments[(at + 1)..].Trim().Trim('"');
                    break;
                case "EXPOSE":
                    exposed.AddRange(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(port => int.Parse(port.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                case "USER":
                    user = arguments;
                    break;
                case "WORKDIR":
                    workingDirectory = arguments;
                    break;
                case "ENTRYPOINT":
                    entrypoint = JsonSerializer.Deserialize<string[]>(arguments);
                    break;
                case "COPY" when !arguments.StartsWith("--from", StringComparison.Ordinal):
                    var parts = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    copied.AddRange(parts[..^1]);
                    break;
                case "RUN" when arguments.StartsWith("dotnet publish ", StringComparison.Ordinal):
                    publish = arguments["dotnet publish ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    break;
            }
        }

        return new DockerfileRecipe(
            baseImage ?? throw new InvalidOperationException($"{path} has no FROM."),
            environment,
            exposed,
            user ?? "root",
            workingDirectory ?? "/",
            entrypoint ?? throw new InvalidOperationException($"{path} has no ENTRYPOINT in its last stage."),
            copied,
            publish);
    }

    // One instruction per logical line: comments and blank lines skipped, continuations joined.
    private static IEnumerable<(string Instruction, string Arguments)> Instructions(string path)
    {
        var pending = "";
        foreach (var line in File.ReadLines(path))
        {
            var text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            if (text.EndsWith('\\'))
            {
                pending += text[..^1] + " ";
                continue;
            }

            var whole = pending + text;
            pending = "";
            var space = whole.IndexOf(' ', StringComparison.Ordinal);
            yield return (whole[..space].ToUpperInvariant(), whole[(space + 1)..].Trim());
        }
    }
}
