using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// Stands in for the server's upgrade features ahead of the WebSocket middleware, so the WebSocket it creates
/// writes through a <see cref="FrameBatchingStream"/>, over HTTP/1.1 upgrades and HTTP/2 extended CONNECT alike.
/// </summary>
internal sealed class FrameBatchingUpgrade : IHttpUpgradeFeature, IHttpExtendedConnectFeature
{
    private readonly IHttpUpgradeFeature? _upgrade;
    private readonly IHttpExtendedConnectFeature? _connect;

    private FrameBatchingUpgrade(IHttpUpgradeFeature? upgrade, IHttpExtendedConnectFeature? connect)
    {
        _upgrade = upgrade;
        _connect = connect;
    }

    /// <summary>The stream under the accepted WebSocket; null until it is accepted.</summary>
    public FrameBatchingStream? Stream { get; private set; }

    bool IHttpUpgradeFeature.IsUpgradableRequest => _upgrade?.IsUpgradableRequest == true;

    bool IHttpExtendedConnectFeature.IsExtendedConnect => _connect?.IsExtendedConnect == true;

    string? IHttpExtendedConnectFeature.Protocol => _connect?.Protocol;

    /// <summary>Installs itself on the request; the endpoint finds it with <see cref="Of"/>.</summary>
    public static void Install(HttpContext context)
    {
        var features = context.Features;
        var upgrade = new FrameBatchingUpgrade(features.Get<IHttpUpgradeFeature>(), features.Get<IHttpExtendedConnectFeature>());
        if (upgrade._upgrade is not null)
        {
            features.Set<IHttpUpgradeFeature>(upgrade);
        }

        if (upgrade._connect is not null)
        {
            features.Set<IHttpExtendedConnectFeature>(upgrade);
        }

        features.Set(upgrade);
    }

    public static FrameBatchingUpgrade? Of(HttpContext context) => context.Features.Get<FrameBatchingUpgrade>();

    async Task<Stream> IHttpUpgradeFeature.UpgradeAsync() => Stream = new FrameBatchingStream(await _upgrade!.UpgradeAsync());

    async ValueTask<Stream> IHttpExtendedConnectFeature.AcceptAsync() => Stream = new FrameBatchingStream(await _connect!.AcceptAsync());
}
