using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace PgNotifyHub.Tests.Endpoints;

public sealed class EndpointMappingTests
{
    public static TheoryData<string, string[]> BadChannelSets => new()
    {
        { "empty name", [""] },
        { "64-byte name", [new string('c', 64)] },
        { "listed twice", ["orders", "orders"] },
    };

    [Theory]
    [MemberData(nameof(BadChannelSets))]
    public async Task Mapping_a_WebSocket_endpoint_with_bad_channels_fails_naming_the_endpoint(string _, string[] channels)
    {
        await using var app = CreateApp();

        var error = Assert.Throws<ArgumentException>(() => app.MapPgNotifyWebSocket("/ws/orders", o => o.Channels = channels));

        Assert.StartsWith("MapPgNotifyWebSocket(\"/ws/orders\"): Channels ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadChannelSets))]
    public async Task Mapping_a_hub_with_bad_channels_fails_naming_the_endpoint(string _, string[] channels)
    {
        await using var app = CreateApp();

        var error = Assert.Throws<ArgumentException>(() => app.MapPgNotifyHub("/hub/orders", o => o.Channels = channels));

        Assert.StartsWith("MapPgNotifyHub(\"/hub/orders\"): Channels ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_without_AddPgNotifyHub_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapPgNotifyWebSocket("/ws"));

        Assert.Contains("AddPgNotifyHub", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", null, "channel")]
    [InlineData("a\0b", null, "channel")]
    [InlineData("orders", "", "audience")]
    public async Task SubscribeAsync_rejects_a_bad_channel_or_an_empty_audience_at_once(string channel, string? audience, string parameter)
    {
        await using var app = CreateApp();
        var listener = app.Services.GetRequiredService<PgNotificationSubscriber>();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => listener.SubscribeAsync(channel, audience, TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(parameter, error.ParamName);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(false, false)]
    public async Task MapPgNotifyHub_sets_CloseOnAuthenticationExpiration_from_the_option_before_the_callers_transport_callback(bool? option, bool expected)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddPgNotifyHub(o =>
        {
            o.ConnectionString = "Host=127.0.0.1;Port=1;Username=postgres";
            o.CloseOnAuthenticationExpiration = option ?? o.CloseOnAuthenticationExpiration;
        });
        await using var app = builder.Build();
        bool? seenByCaller = null;

        app.MapPgNotifyHub("/hub", transports => seenByCaller = transports.CloseOnAuthenticationExpiration);

        Assert.Equal(expected, seenByCaller);
    }

    // Never started: mapping and subscribing validate their arguments before anything touches the database.
    private static WebApplication CreateApp()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddPgNotifyHub("Host=127.0.0.1;Port=1;Username=postgres");
        return builder.Build();
    }
}
