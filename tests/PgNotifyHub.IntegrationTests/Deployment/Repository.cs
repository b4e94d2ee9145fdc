namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>The repository this test was built from: where deploy/ and src/ are.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string File(string relativePath) => Path.Combine(Root, relativePath);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "PgNotifyHub.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No PgNotifyHub.sln above {AppContext.BaseDirectory}: these tests read deploy/ from the repository they were built in.");
    }
}
