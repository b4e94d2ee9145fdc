using System.Text.RegularExpressions;
using PgNotifyHub.BrowserTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>
/// The npm package pgnotifyhub (clients/js) in Node, through its own tests (Node's test runner): each file of
/// clients/js/test runs as one test case, against this class's standalone server, which requires tokens. A failure
/// shows Node's report and the end of the server's log.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed partial class JsPackageTests(JsTestServer server) : IClassFixture<JsTestServer>
{
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(2);

    public static TheoryData<string> TestFiles => [.. JsPackage.TestFiles];

    [Theory]
    [MemberData(nameof(TestFiles))]
    public async Task Node_test_file_passes_against_the_standalone_server(string file)
    {
        var (exitCode, output) = await JsPackage.RunAsync(
            "node", ["--test", "--test-reporter=spec", Path.Combine("test", file)], JsPackage.Directory, FileTimeout, server.NodeEnvironment);
        TestContext.Current.TestOutputHelper?.WriteLine(output);

        var failure = $"node --test {file} exited with {exitCode}:{Environment.NewLine}{output}{Environment.NewLine}{Environment.NewLine}"
            + $"The server's last lines:{Environment.NewLine}{server.RecentOutput}";
        Assert.True(exitCode == 0, failure);
        // A file whose tests were all skipped, or that has none, passes as well: neither is a pass here.
        Assert.True(Summary(output, "pass") > 0, failure);
        Assert.True(Summary(output, "skipped") == 0 && Summary(output, "todo") == 0 && Summary(output, "fail") == 0, failure);
    }

    // The spec reporter ends with "ℹ tests 3", "ℹ pass 3", "ℹ fail 0", "ℹ skipped 0", "ℹ todo 0"…
    private static int Summary(string output, string counter) =>
        SummaryLine().Matches(output).Where(match => match.Groups["counter"].Value == counter).Select(match => int.Parse(match.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture)).LastOrDefault(-1);

    [GeneratedRegex(@"^ℹ (?<counter>\w+) (?<count>\d+)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
