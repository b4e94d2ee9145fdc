using PgNotifyHub.Durable;

namespace PgNotifyHub.Tests.Durable;

public sealed class InstallScriptTests
{
    [Fact]
    public void The_script_applied_at_startup_is_the_one_shipped_in_the_sql_folder()
    {
        var shipped = File.ReadAllText(Path.Combine(RepositoryRoot(), "sql", "pgnotifyhub.sql"));

        Assert.Equal(shipped, OutboxReader.InstallScript());
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PgNotifyHub.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("PgNotifyHub.sln was not found above " + AppContext.BaseDirectory);
    }
}
