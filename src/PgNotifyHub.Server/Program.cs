using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using PgNotifyHub;
using PgNotifyHub.Server;
using PgNotifyHub.Server.Settings;

// Answered before anything is configured, so they work whatever the settings are.
if (args.Any(argument => argument is "--help" or "-h" or "-?"))
{
    Console.Out.Write(SettingsHelp.Text());
    return 0;
}

if (args.Contains("--version"))
{
    Console.Out.WriteLine(ServerVersion.Informational);
    return 0;
}

try
{
    Serve(args);
    return Environment.ExitCode;
}
catch (Exception exception) when (StartupFailure.IsReportedHere && StartupFailure.Describe(exception) is { } message)
{
    // A setting or an address the operator must fix: one line that names it, no stack trace, exit code 1.
    return StartupFailure.Report(message);
}

static void Serve(string[] args)
{
    // The slim builder leaves out what this server does not use (IIS integration, regex route constraints, hosting
    // startup assemblies); HTTPS endpoints configured under Kestrel:Endpoints keep working.
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.WebHost.UseKestrelHttpsConfiguration();
    IHostApplicationLifetime? lifetime = null;
    StartupFailure.QuietUntilStarted(builder.Logging, () => lifetime?.ApplicationStarted.IsCancellationRequested == true);

    // Under systemd (deploy/pgnotifyhub.service, Type=notify) it tells systemd when it is ready and stopping, and logs
    // with syslog priorities unless Logging:Console:FormatterName says otherwise; elsewhere it does nothing.
    builder.Host.UseSystemd();
    builder.AddServerConsole();

    // Checked before anything reads them: an unknown key or an unreadable value stops the start, naming it.
    var settings = ServerSettings.Read(builder.Configuration);
    var connectionString = ServerDatabase.ConnectionString(builder.Configuration);

    // pgws listens on :8080. ASP.NET Core's own settings keep their precedence (--urls, ASPNETCORE_URLS,
    // ASPNETCORE_HTTP_PORTS/HTTPS_PORTS, Kestrel:Endpoints): the default fills in only when none is set.
    if (!ServerAddresses.AreConfigured(builder.Configuration))
    {
        builder.WebHost.UseUrls(ServerAddresses.Default);
    }

    builder.AddServerAuthentication(settings.Authentication, settings.Audiences);
    var audienceResolver = AudienceResolver(settings.Audiences);
    var topicAuthorizer = ServerTopics.Authorizer(settings.Topics, settings.Authentication);
    builder.Services.AddPgNotifyHub(options =>
    {
        options.ConnectionString = connectionString;
        options.AudienceResolver = audienceResolver;
    });
    builder.Services.AddHubCors();
    builder.AddServerTelemetry();

    var app = builder.Build();
    lifetime = app.Lifetime;
    ServerLog.Starting(app.Logger, ServerVersion.Informational, Environment.Version.ToString(), app.Environment.EnvironmentName, app.Environment.ContentRootPath);
    var paths = settings.Paths;

    var pages = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "clients", "browser"));
    app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = pages });
    app.UseStaticFiles(new StaticFileOptions { FileProvider = pages });

    app.UseCors();
    app.UseServerAuthentication(settings.Authentication);
    app.MapPgNotifyHub(paths.Hub, endpoint => endpoint.TopicAuthorizer = topicAuthorizer).RequireCors(HubCors.PolicyName).RequireServerAuthentication(settings.Authentication);
    app.MapPgNotifyWebSocket(paths.WebSocket, endpoint => endpoint.TopicAuthorizer = topicAuthorizer).RequireServerAuthentication(settings.Authentication);
    // An EventSource is a plain GET, so a page of another allowed origin needs the hub's CORS headers to read it.
    app.MapPgNotifyEventStream(paths.Events, endpoint => endpoint.TopicAuthorizer = topicAuthorizer).RequireCors(HubCors.PolicyName).RequireServerAuthentication(settings.Authentication);
    // Liveness says only that the process answers; readiness that the listener is connected and PostgreSQL's NOTIFY
    // queue is not filling up, so a load balancer sends clients only to a node that delivers.
    app.MapHealthChecks(paths.Health, new HealthCheckOptions { Predicate = _ => false });
    app.MapHealthChecks(paths.Ready, new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = ReadinessResponse.WriteAsync });
    app.MapServerMetrics(paths.Metrics);

    // Lets the demo page send without psql; never on unless asked for (scripts/run-server.sh asks, in Development).
    app.MapDevNotify(settings.DevNotify, connectionString);

    // Read now: the application's services are disposed by the time Run throws.
    var configuration = app.Configuration;
    try
    {
        app.Run();
    }
    catch (Exception exception) when (ServerAddresses.IsBindingFailure(exception))
    {
        throw new InvalidSettingException(ServerAddresses.BindingFailure(exception, configuration));
    }
}

// Audiences:Source Default puts everyone in Audiences:Default; Header trusts a header set by a reverse proxy
// (comma-separated audiences), and refuses connections without it; Claim reads a claim of the connection's token
// (Authentication:Jwt).
static PgNotifyHubAudienceResolver AudienceResolver(AudiencesSettings audiences)
{
    switch (audiences.Source)
    {
        case AudienceSource.Header:
            var header = ServerSettings.Given(audiences.Header)
                ?? throw new InvalidSettingException("Audiences:Header must name the request header when Audiences:Source is Header.");
            return context => ValueTask.FromResult(ServerAudiences.FromHeader(context, header));
        case AudienceSource.Claim:
            return ServerAuthentication.AudiencesFromClaim(audiences);
        default:
            IReadOnlyList<string> fixedAudience = [ServerSettings.Given(audiences.Default) ?? PgNotifyHubOptions.DefaultAudience];
            return _ => ValueTask.FromResult(fixedAudience);
    }
}

/// <summary>The standalone server; public so that its tests can host it.</summary>
public partial class Program;
