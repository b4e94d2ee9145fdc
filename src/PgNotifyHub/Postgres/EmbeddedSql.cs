namespace PgNotifyHub.Postgres;

/// <summary>The SQL scripts of <c>sql/</c>, embedded in the assembly so a node can apply them itself.</summary>
internal static class EmbeddedSql
{
    /// <param name="resourceName">The logical name given in the project file, e.g. <c>PgNotifyHub.sql</c>.</param>
    public static string Read(string resourceName)
    {
        using var stream = typeof(EmbeddedSql).Assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"The script {resourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
