using System.Text;
using System.Text.Json;
using Npgsql;
using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>
/// A development aid for the demo page: <c>POST /dev/notify</c> with
/// <c>{"channel":"pgws","audience":"default","payload":{…}}</c> runs <c>pg_notify(channel, 'audience,payload')</c>.
/// Whoever reaches it can send any message to any audience, so it exists only when
/// <c>DevNotify:Enabled</c> is true; otherwise nothing is mapped and the path answers 404.
/// </summary>
internal static partial class DevNotifyEndpoint
{
    // NAMEDATALEN - 1, as PostgreSQL counts a channel name.
    private const int MaxChannelBytes = 63;

    // SQLSTATE class 22, data exception: whatever PostgreSQL refuses in the values themselves is the client's to fix.
    private const string DataExceptionClass = "22";

    public const string Pattern = "/dev/notify";

    /// <summary>Maps the endpoint when <c>DevNotify:Enabled</c> is true.</summary>
    /// <exception cref="InvalidSettingException">
    /// It is enabled in the Production environment without <c>DevNotify:AllowInProduction</c>: it answers anyone,
    /// even when tokens are required on the hub and the raw endpoint.
    /// </exception>
    public static void MapDevNotify(this WebApplication app, DevNotifySettings settings, string connectionString)
    {
        if (!settings.Enabled)
        {
            return;
        }

        if (app.Environment.IsProduction() && !settings.AllowInProduction)
        {
            throw new InvalidSettingException(
                "DevNotify:Enabled is true in the Production environment: POST /dev/notify would let anyone who reaches this server "
                + "send any notification to any audience, without a token. Run with ASPNETCORE_ENVIRONMENT=Development, or set "
                + "DevNotify:AllowInProduction=true if this really is what you want.");
        }

        var connection = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // Tells its connections apart from the listener's in pg_stat_activity.
            ApplicationName = "PgNotifyHub dev sender",
        };
        // Slim, as the library's own data sources are: it sends two text parameters, and the full builder would bring
        // every type Npgsql knows into the Native AOT binary.
        var dataSource = new NpgsqlSlimDataSourceBuilder(connection.ConnectionString).EnableTransportSecurity().EnableIntegratedSecurity().Build();
        app.Lifetime.ApplicationStopped.Register(dataSource.Dispose);
        LogEnabled(app.Logger, Pattern);

        app.MapPost(Pattern, async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            // JSON only: a cross-site page can post a form or text/plain without asking, but not
            // application/json, which needs a CORS preflight that this server never grants.
            if (!request.HasJsonContentType())
            {
                return NotSent("Send the notification as JSON (Content-Type: application/json).", StatusCodes.Status415UnsupportedMediaType);
            }

            JsonDocument body;
            try
            {
                body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            }
            catch (JsonException exception)
            {
                return NotSent($"The body is not valid JSON: {exception.Message}");
            }

            using (body)
            {
                if (body.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return NotSent("The body must be a JSON object with channel, audience and payload.");
                }

                if (FieldWithLoneSurrogate(body.RootElement) is { } field)
                {
                    return NotSent($"{field} holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape): it is not text PostgreSQL can store.");
                }

                if (Text(body.RootElement, "channel") is not { Length: > 0 } channel)
                {
                    return NotSent("channel is missing: give the PostgreSQL channel, e.g. \"pgws\".");
                }

                if (channel.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(channel) > MaxChannelBytes)
                {
                    return NotSent($"channel must be at most {MaxChannelBytes} bytes of UTF-8, without NUL.");
                }

                // The listener splits at the first comma, so an audience cannot contain one.
                if (Text(body.RootElement, "audience") is not { Length: > 0 } audience || audience.Contains(',', StringComparison.Ordinal))
                {
                    return NotSent("audience is missing or contains a comma: give one audience, e.g. \"default\".");
                }

                if (audience.Contains('\0', StringComparison.Ordinal))
                {
                    return NotSent("audience must not contain NUL: PostgreSQL text cannot hold it.");
                }

                if (PayloadProblem(body.RootElement, out var payload) is { } problem)
                {
                    return NotSent(problem);
                }

                try
                {
                    await using var command = dataSource.CreateCommand("SELECT pg_notify($1, $2)");
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience + "," + payload });
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException exception) when (exception.SqlState.StartsWith(DataExceptionClass, StringComparison.Ordinal))
                {
                    // The data the client sent: payload string too long (7,999 bytes), a character the database's
                    // encoding cannot hold… in PostgreSQL's own words.
                    return NotSent($"PostgreSQL refused it: {exception.MessageText}");
                }
                catch (NpgsqlException exception) when (exception is not PostgresException)
                {
                    return NotSent($"PostgreSQL did not answer: {exception.Message}", StatusCodes.Status503ServiceUnavailable);
                }

                return Results.Accepted();
            }
        });
    }

    private static IResult NotSent(string detail, int statusCode = StatusCodes.Status400BadRequest) =>
        Results.Problem(detail, statusCode: statusCode, title: "The notification was not sent.");

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // GetString() throws for an escaped unpaired surrogate, so the strings the sender reads are checked first.
    private static string? FieldWithLoneSurrogate(JsonElement body)
    {
        foreach (var name in (ReadOnlySpan<string>)["channel", "audience", "payload"])
        {
            if (body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                try
                {
                    _ = value.GetString();
                }
                catch (InvalidOperationException)
                {
                    return name;
                }
            }
        }

        return null;
    }

    // The payload is forwarded as written, like any other sender's: an object as its raw text, and a string
    // (what the demo page's text area sends) as it is, once checked to hold exactly one JSON object.
    private static string? PayloadProblem(JsonElement body, out string payload)
    {
        const string Expected = "payload must be a JSON object, or a string holding one, e.g. {\"message\":\"hello\"}.";
        payload = "";
        if (!body.TryGetProperty("payload", out var value))
        {
            return Expected;
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            payload = value.GetRawText();
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return Expected;
        }

        payload = value.GetString()!;
        try
        {
            using var parsed = JsonDocument.Parse(payload);
            return parsed.RootElement.ValueKind == JsonValueKind.Object ? null : Expected;
        }
        catch (JsonException exception)
        {
            return $"payload is not valid JSON: {exception.Message}";
        }
    }

    [LoggerMessage(1000, LogLevel.Warning, "The development sender is enabled at POST {Path}: anyone who can reach this server can send any notification to any audience. It must not be enabled in production (DevNotify:Enabled).", EventName = "DevNotifyEnabled")]
    private static partial void LogEnabled(ILogger logger, string path);
}
