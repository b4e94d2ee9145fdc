using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Npgsql;
using PgNotifyHub;
using PgNotifyHub.Server;

// The slim builder leaves out what this server does not use (IIS integration, regex route constraints, hosting
// startup assemblies); HTTPS endpoints configured under Kestrel:Endpoints keep working.
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseKestrelHttpsConfiguration();

// pgws listens on :8080. ASP.NET Core's own settings keep their precedence (--urls, ASPNETCORE_URLS,
// ASPNETCORE_HTTP_PORTS/HTTPS_PORTS, Kestrel:Endpoints): the default fills in only when none is set.
if (!ServerAddresses.AreConfigured(builder.Configuration))
{
    builder.WebHost.UseUrls(ServerAddresses.Default);
}

builder.AddServerAuthentication();
builder.Services.AddPgNotifyHub(options =>
{
    options.ConnectionString = ConnectionString(builder.Configuration);
    options.AudienceResolver = AudienceResolver(builder.Configuration.GetSection("Audiences"));
});
builder.Services.AddHubCors();
builder.AddServerMetrics();

var app = builder.Build();
var paths = app.Configuration.GetSection("Paths");

var pages = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "clients", "browser"));
app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = pages });
app.UseStaticFiles(new StaticFileOptions { FileProvider = pages });

app.UseCors();
app.UseServerAuthentication();
app.MapPgNotifyHub(paths["Hub"] ?? "/hub").RequireCors(HubCors.PolicyName).RequireServerAuthentication(app.Configuration);
app.MapPgNotifyWebSocket(paths["WebSocket"] ?? "/ws").RequireServerAuthentication(app.Configuration);
// Liveness says only that the process answers; readiness that the listener is connected and PostgreSQL's NOTIFY
// queue is not filling up, so a load balancer sends clients only to a node that delivers.
app.MapHealthChecks(paths["Health"] ?? "/healthz", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks(paths["Ready"] ?? "/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapServerMetrics(paths["Metrics"] ?? "/metrics");

// Lets the demo page send without psql; never on unless asked for (scripts/run-server.sh asks, in Development).
app.MapDevNotify(ConnectionString(app.Configuration));

app.Run();

// ConnectionStrings:Postgres, else the libpq environment variables, as pgws's empty DSN does.
static string ConnectionString(IConfiguration configuration)
{
    var configured = configuration.GetConnectionString("Postgres");
    if (!string.IsNullOrWhiteSpace(configured))
    {
        return configured;
    }

    var fromEnvironment = new NpgsqlConnectionStringBuilder
    {
        Host = Environment.GetEnvironmentVariable("PGHOST") ?? "localhost",
        Port = int.TryParse(Environment.GetEnvironmentVariable("PGPORT"), out var port) ? port : 5432,
        Username = Environment.GetEnvironmentVariable("PGUSER") ?? Environment.UserName,
    };
    fromEnvironment.Database = Environment.GetEnvironmentVariable("PGDATABASE") ?? fromEnvironment.Username;
    if (Environment.GetEnvironmentVariable("PGPASSWORD") is { } password)
    {
        fromEnvironment.Password = password;
    }

    return fromEnvironment.ConnectionString;
}

// Audiences:Source "Default" puts everyone in Audiences:Default; "Header" trusts a header set by a reverse
// proxy (comma-separated audiences), and refuses connections without it; "Claim" reads a claim of the
// connection's token (Authentication:Jwt).
static PgNotifyHubAudienceResolver AudienceResolver(IConfigurationSection audiences)
{
    var source = audiences["Source"] ?? "Default";
    if (source.Equals("Default", StringComparison.OrdinalIgnoreCase))
    {
        IReadOnlyList<string> fixedAudience = [audiences["Default"] ?? PgNotifyHubOptions.DefaultAudience];
        return _ => ValueTask.FromResult(fixedAudience);
    }

    if (source.Equals("Header", StringComparison.OrdinalIgnoreCase))
    {
        var header = audiences["Header"] is { Length: > 0 } name
            ? name
            : throw new InvalidOperationException("Audiences:Header must name the request header when Audiences:Source is Header.");
        return context => ValueTask.FromResult(ServerAudiences.FromHeader(context, header));
    }

    if (source.Equals("Claim", StringComparison.OrdinalIgnoreCase))
    {
        return ServerAuthentication.AudiencesFromClaim(audiences);
    }

    throw new InvalidOperationException($"Audiences:Source is '{source}'; it must be Default, Header or Claim.");
}

/// <summary>The standalone server; public so that its tests can host it.</summary>
public partial class Program;
