using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Tests.Options;

public sealed class OptionsValidationTests
{
    // Nothing listens on port 1: a host that wrongly passed validation would only log connection failures.
    private const string UnreachableDatabase = "Host=127.0.0.1;Port=1;Username=postgres;Timeout=1";

    private static readonly Dictionary<string, Action<PgNotifyHubOptions>> BadSettings = new()
    {
        ["empty channel name"] = o => o.Channels = [""],
        ["64-byte channel name"] = o => o.Channels = [new string('c', 64)],
        ["channel name of 32 two-byte characters"] = o => o.Channels = [string.Concat(Enumerable.Repeat("é", 32))],
        ["channel name with NUL"] = o => o.Channels = ["a\0b"],
        ["channel listed twice"] = o => o.Channels = ["orders", "orders"],
        ["min delay greater than max"] = o => (o.ReconnectDelayMin, o.ReconnectDelayMax) = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)),
        ["zero min delay"] = o => o.ReconnectDelayMin = TimeSpan.Zero,
        ["negative max delay"] = o => o.ReconnectDelayMax = TimeSpan.FromSeconds(-1),
        ["zero heartbeat"] = o => o.HeartbeatInterval = TimeSpan.Zero,
        ["zero send queue"] = o => o.SendQueueCapacity = 0,
        ["negative send queue"] = o => o.SendQueueCapacity = -5,
        ["zero keep-alive"] = o => o.WebSocketKeepAliveInterval = TimeSpan.Zero,
        ["zero close timeout"] = o => o.WebSocketCloseTimeout = TimeSpan.Zero,
        ["zero event stream keep-alive"] = o => o.EventStreamKeepAliveInterval = TimeSpan.Zero,
        ["negative event stream retry"] = o => o.EventStreamRetryDelay = TimeSpan.FromSeconds(-1),
        ["no audience resolver"] = o => o.AudienceResolver = null!,
        ["no connection string"] = o => o.ConnectionString = null,
        ["origin with a path"] = o => o.AllowedOrigins = ["https://app.example.com/app"],
        ["origin without a scheme"] = o => o.AllowedOrigins = ["app.example.com"],
        ["origin of another scheme"] = o => o.AllowedOrigins = ["ftp://app.example.com"],
        ["zero queue threshold"] = o => o.NotifyQueueUsageThreshold = 0,
        ["queue threshold above 1"] = o => o.NotifyQueueUsageThreshold = 1.5,
        ["queue threshold NaN"] = o => o.NotifyQueueUsageThreshold = double.NaN,
        ["zero max connections"] = o => o.MaxConnections = 0,
        ["zero audiences per connection"] = o => o.MaxAudiencesPerConnection = 0,
        ["tiny client message size"] = o => o.MaxClientMessageSize = 100,
        ["undefined slow consumer policy"] = o => o.SlowConsumerPolicy = (PgNotifyHubSlowConsumerPolicy)7,
        ["blank latency timestamp property"] = o => o.LatencyTimestampProperty = " ",
        ["negative replay buffer"] = o => o.ReplayBufferSize = -1,
        ["zero replay window"] = o => o.ReplayWindow = TimeSpan.Zero,
        ["negative replay budget"] = o => o.ReplayBufferMaxBytes = -1,
        ["outbox without reader name"] = o => (o.Outbox.Enabled, o.Outbox.ReaderName) = (true, " "),
        ["outbox without retention"] = o => (o.Outbox.Enabled, o.Outbox.Retention) = (true, TimeSpan.Zero),
        ["outbox without poll interval"] = o => (o.Outbox.Enabled, o.Outbox.PollInterval) = (true, TimeSpan.FromSeconds(-1)),
    };

    public static TheoryData<string, string> BadSettingCases => new()
    {
        { "empty channel name", "Channels" },
        { "64-byte channel name", "Channels" },
        { "channel name of 32 two-byte characters", "Channels" },
        { "channel name with NUL", "Channels" },
        { "channel listed twice", "Channels" },
        { "min delay greater than max", "ReconnectDelayMin" },
        { "zero min delay", "ReconnectDelayMin" },
        { "negative max delay", "ReconnectDelayMax" },
        { "zero heartbeat", "HeartbeatInterval" },
        { "zero send queue", "SendQueueCapacity" },
        { "negative send queue", "SendQueueCapacity" },
        { "zero keep-alive", "WebSocketKeepAliveInterval" },
        { "zero close timeout", "WebSocketCloseTimeout" },
        { "zero event stream keep-alive", "EventStreamKeepAliveInterval" },
        { "negative event stream retry", "EventStreamRetryDelay" },
        { "no audience resolver", "AudienceResolver" },
        { "no connection string", "ConnectionString" },
        { "origin with a path", "AllowedOrigins" },
        { "origin without a scheme", "AllowedOrigins" },
        { "origin of another scheme", "AllowedOrigins" },
        { "zero queue threshold", "NotifyQueueUsageThreshold" },
        { "queue threshold above 1", "NotifyQueueUsageThreshold" },
        { "queue threshold NaN", "NotifyQueueUsageThreshold" },
        { "zero max connections", "MaxConnections" },
        { "zero audiences per connection", "MaxAudiencesPerConnection" },
        { "tiny client message size", "MaxClientMessageSize" },
        { "undefined slow consumer policy", "SlowConsumerPolicy" },
        { "blank latency timestamp property", "LatencyTimestampProperty" },
        { "negative replay buffer", "ReplayBufferSize" },
        { "zero replay window", "ReplayWindow" },
        { "negative replay budget", "ReplayBufferMaxBytes" },
        { "outbox without reader name", "Outbox:ReaderName" },
        { "outbox without retention", "Outbox:Retention" },
        { "outbox without poll interval", "Outbox:PollInterval" },
    };

    [Theory]
    [MemberData(nameof(BadSettingCases))]
    public async Task Bad_setting_in_code_stops_startup_naming_the_setting(string badSetting, string settingName)
    {
        using var host = BuildHost(configure: BadSettings[badSetting]);

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(settingName, AllMessages(exception), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PgNotifyHub:SendQueueCapacity", "0", "SendQueueCapacity")]
    [InlineData("PgNotifyHub:HeartbeatInterval", "00:00:00", "HeartbeatInterval")]
    [InlineData("PgNotifyHub:Channels:0", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", "Channels")]
    [InlineData("PgNotifyHub:ReconnectDelayMin", "00:01:00", "ReconnectDelayMin")]
    [InlineData("PgNotifyHub:SlowConsumerPolicy", "DropNewest", "SlowConsumerPolicy")]
    public async Task Bad_setting_in_configuration_stops_startup_naming_the_setting(string key, string value, string settingName)
    {
        using var host = BuildHost(new Dictionary<string, string?> { [key] = value });

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(settingName, AllMessages(exception), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_bad_setting_is_named_in_one_startup_error()
    {
        using var host = BuildHost(configure: o =>
        {
            o.SendQueueCapacity = 0;
            o.HeartbeatInterval = TimeSpan.Zero;
            o.Channels = [""];
        });

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        var messages = AllMessages(exception);
        Assert.Contains("SendQueueCapacity", messages, StringComparison.Ordinal);
        Assert.Contains("HeartbeatInterval", messages, StringComparison.Ordinal);
        Assert.Contains("Channels", messages, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(63, "a")]
    [InlineData(1, "a")]
    [InlineData(31, "é")] // 62 bytes, plus one ASCII character below
    public void Channel_names_up_to_63_utf8_bytes_are_accepted(int repeat, string character)
    {
        var name = string.Concat(Enumerable.Repeat(character, repeat)) + (character == "é" ? "x" : "");
        using var host = BuildHost(configure: o => o.Channels = [name, "Mixed Case \"quoted\""]);

        var options = host.Services.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value;

        Assert.Equal([name, "Mixed Case \"quoted\""], options.Channels);
    }

    [Fact]
    public void Defaults_are_as_documented()
    {
        using var host = BuildHost();

        var options = host.Services.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value;

        Assert.Equal(["pgws"], options.Channels);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.ReconnectDelayMin);
        Assert.Equal(TimeSpan.FromSeconds(15), options.ReconnectDelayMax);
        Assert.Equal(TimeSpan.FromSeconds(15), options.HeartbeatInterval);
        Assert.Equal(8192, options.SendQueueCapacity);
        Assert.Equal(TimeSpan.FromSeconds(30), options.WebSocketKeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), options.WebSocketCloseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), options.EventStreamKeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.EventStreamRetryDelay);
        Assert.Empty(options.AllowedOrigins);
        Assert.Equal(0.5, options.NotifyQueueUsageThreshold);
        Assert.Null(options.MaxConnections);
        Assert.Equal(1000, options.MaxAudiencesPerConnection);
        Assert.Equal(4096, options.MaxClientMessageSize);
        Assert.True(options.CloseOnAuthenticationExpiration);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://app.example.com")]
    [InlineData("https://app.example.com/")]
    [InlineData("http://localhost:5173")]
    public async Task Allowed_origins_accept_the_wildcard_and_bare_origins(string origin)
    {
        using var host = BuildHost(configure: o => o.AllowedOrigins = [origin]);

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Default_audience_resolver_puts_every_connection_in_default()
    {
        using var host = BuildHost();
        var options = host.Services.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value;

        var audiences = await options.AudienceResolver(new Microsoft.AspNetCore.Http.DefaultHttpContext());

        Assert.Equal(["default"], audiences);
    }

    [Fact]
    public void Channels_from_configuration_replace_the_default()
    {
        using var host = BuildHost(new Dictionary<string, string?>
        {
            ["PgNotifyHub:Channels:0"] = "orders",
            ["PgNotifyHub:Channels:1"] = "audit",
        });

        var options = host.Services.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value;

        Assert.Equal(["orders", "audit"], options.Channels);
    }

    [Fact]
    public void Code_configuration_applies_after_bound_configuration()
    {
        using var host = BuildHost(
            new Dictionary<string, string?> { ["PgNotifyHub:SendQueueCapacity"] = "10", ["PgNotifyHub:HeartbeatInterval"] = "00:00:07" },
            o => o.SendQueueCapacity = 20);

        var options = host.Services.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value;

        Assert.Equal(20, options.SendQueueCapacity);
        Assert.Equal(TimeSpan.FromSeconds(7), options.HeartbeatInterval);
    }

    private static IHost BuildHost(Dictionary<string, string?>? configuration = null, Action<PgNotifyHubOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration ?? []);
        builder.Logging.ClearProviders();
        builder.Services.AddPgNotifyHub(options =>
        {
            options.ConnectionString = UnreachableDatabase;
            configure?.Invoke(options);
        });
        return builder.Build();
    }

    private static string AllMessages(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            messages.Add(current.Message);
            if (current is AggregateException aggregate)
            {
                messages.AddRange(aggregate.Flatten().InnerExceptions.Select(AllMessages));
            }
        }

        return string.Join(Environment.NewLine, messages);
    }
}
