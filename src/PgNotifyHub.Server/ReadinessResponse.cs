using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PgNotifyHub.Server;

/// <summary>
/// The body of the readiness endpoint: the overall status on the first line, as ASP.NET Core writes it, then one line
/// per check that is not healthy with its description, so that whoever probes it by hand sees why (PostgreSQL's
/// refusal with its SQLSTATE, the NOTIFY queue's usage).
/// </summary>
internal static class ReadinessResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var body = new StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries.Where(entry => entry.Value.Status != HealthStatus.Healthy).OrderBy(entry => entry.Key, StringComparer.Ordinal))
        {
            body.Append('\n').Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description);
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(body.ToString(), context.RequestAborted);
    }
}
