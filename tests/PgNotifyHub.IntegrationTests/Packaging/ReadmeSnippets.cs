using System.Text;
using System.Text.RegularExpressions;

namespace PgNotifyHub.IntegrationTests.Packaging;

/// <summary>
/// The code blocks of the repository's READMEs, each marked by the comment on the line before it:
/// <c>&lt;!-- snippet: KIND [NAME] --&gt;</c>. A C# block's kind says how it compiles: <c>program</c>, a whole
/// <c>Program.cs</c>; <c>services</c>, statements on <c>builder</c>; <c>endpoints</c>, statements on <c>app</c>;
/// <c>app</c>, statements on both; <c>fragment</c>, deliberately partial, never compiled. The name picks the block a
/// consumer test runs, e.g. <c>program quickstart</c> and <c>appsettings quickstart</c>.
/// </summary>
internal static partial class ReadmeSnippets
{
    public static IReadOnlyList<Snippet> Read(string repositoryRoot, string readme)
    {
        var path = Path.Combine(repositoryRoot, readme);
        var lines = File.ReadAllLines(path);
        var snippets = new List<Snippet>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = CodeFence().Match(lines[i]);
            if (!fence.Success)
            {
                continue;
            }

            var language = fence.Groups[1].Value;
            var marker = i > 0 ? Marker().Match(lines[i - 1]) : Match.Empty;
            var end = Array.FindIndex(lines, i + 1, line => line.StartsWith("```", StringComparison.Ordinal));
            if (end < 0)
            {
                throw new InvalidDataException($"{readme}:{i + 1}: the code block is never closed.");
            }

            snippets.Add(new Snippet(
                readme,
                i + 1,
                language,
                marker.Success ? marker.Groups[1].Value : null,
                marker.Success && marker.Groups[2].Success ? marker.Groups[2].Value : null,
                string.Join('\n', lines[(i + 1)..end])));
            i = end;
        }

        return snippets;
    }

    /// <summary>
    /// A source file that compiles <paramref name="snippet"/> without running it: its <c>using</c>s at the top, the rest
    /// the body of a method whose parameters are what its kind says it uses.
    /// </summary>
    public static string AsMethod(Snippet snippet, int index)
    {
        var usings = new StringBuilder();
        var body = new StringBuilder();
        foreach (var line in snippet.Code.Split('\n'))
        {
            (UsingDirective().IsMatch(line) ? usings : body).Append(line).Append('\n');
        }

        var parameters = snippet.Kind switch
        {
            "program" => "string[] args",
            "services" => "WebApplicationBuilder builder",
            "endpoints" => "WebApplication app",
            "app" => "WebApplicationBuilder builder, WebApplication app",
            _ => throw new InvalidDataException($"{snippet.Location}: a snippet of kind '{snippet.Kind}' is not compiled as a method."),
        };
        return $$"""
            {{usings}}
            // {{snippet.Location}}
            internal static class ReadmeSnippet{{index}}
            {
                public static async Task RunAsync({{parameters}})
                {
                    await Task.CompletedTask;
            {{body}}
                }
            }
            """;
    }

    [GeneratedRegex(@"^using [\w.]+;")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^```(\w*)\s*$")]
    private static partial Regex CodeFence();

    [GeneratedRegex(@"^<!-- snippet: ([\w-]+)(?: ([\w-]+))? -->\s*$")]
    private static partial Regex Marker();
}

/// <summary>One code block of a README.</summary>
/// <param name="Readme">The README, relative to the repository root.</param>
/// <param name="Line">The line of its opening fence.</param>
/// <param name="Language">The fence's language, e.g. <c>csharp</c>.</param>
/// <param name="Kind">The marker's kind; null without a marker.</param>
/// <param name="Name">The marker's name; null without one.</param>
/// <param name="Code">The code, without the fences.</param>
internal sealed record Snippet(string Readme, int Line, string Language, string? Kind, string? Name, string Code)
{
    public string Location => $"{Readme}:{Line}";
}
