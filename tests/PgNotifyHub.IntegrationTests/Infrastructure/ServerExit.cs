namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>How a server process ended: its exit code and what it printed, line by line.</summary>
public sealed record ServerExit(int ExitCode, IReadOnlyList<string> StandardOutput, IReadOnlyList<string> StandardError)
{
    public override string ToString() =>
        $"exit code {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{string.Join(Environment.NewLine, StandardOutput)}"
        + $"{Environment.NewLine}stderr:{Environment.NewLine}{string.Join(Environment.NewLine, StandardError)}";
}
