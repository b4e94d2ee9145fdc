using System.Reflection;

namespace PgNotifyHub.Postgres;

/// <summary>The SQL scripts of <c>sql/</c>, embedded in the assemblies that apply them, so a node can apply them itself.</summary>
internal static class EmbeddedSql
{
    /// <param name="assembly">The assembly the script is embedded in.</param>
    /// <param name="resourceName">The logical name given in the project file, e.g. <c>PgNotifyHub.sql</c>.</param>
    public static string Read(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"The script {resourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
