using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The receiving end of OTLP over HTTP, as a collector has it: Kestrel on 127.0.0.1 and a free port, accepting
/// <c>POST /v1/traces</c>, <c>/v1/metrics</c> and <c>/v1/logs</c> and answering each with an empty (so successful)
/// export response. Keeps every request's body for the test to look into.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<OtlpRequest> _requests = [];
    private readonly List<(Func<OtlpRequest, bool> Match, TaskCompletionSource<OtlpRequest> Found)> _waiting = [];
    private readonly Lock _lock = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:port, the value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public Uri BaseUri => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        foreach (var signal in new[] { "/v1/traces", "/v1/metrics", "/v1/logs" })
        {
            app.MapPost(signal, receiver.ReceiveAsync);
        }

        await app.StartAsync(TestContext.Current.CancellationToken).OrTimeout();
        return receiver;
    }

    /// <summary>The first request received, or to be received, that matches.</summary>
    public Task<OtlpRequest> WaitForAsync(Func<OtlpRequest, bool> match, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        lock (_lock)
        {
            if (_requests.FirstOrDefault(match) is { } request)
            {
                return Task.FromResult(request);
            }

            var found = new TaskCompletionSource<OtlpRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((match, found));
            return found.Task.OrTimeout(filePath: filePath, lineNumber: lineNumber);
        }
    }

    public IReadOnlyList<OtlpRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var request = new OtlpRequest(context.Request.Path, context.Request.ContentType, body.ToArray());
        lock (_lock)
        {
            _requests.Add(request);
            foreach (var waiter in _waiting.Where(waiter => waiter.Match(request)).ToList())
            {
                waiter.Found.TrySetResult(request);
                _waiting.Remove(waiter);
            }
        }

        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = StatusCodes.Status200OK;
    }
}

/// <summary>One OTLP export: its path, content type and protobuf body.</summary>
public sealed record OtlpRequest(string Path, string? ContentType, byte[] Body)
{
    /// <summary>
    /// Whether the body holds <paramref name="text"/> as UTF-8: protobuf writes strings (span names, attribute keys and
    /// values, metric names) as their bytes, so this finds them without decoding the message.
    /// </summary>
    public bool Holds(string text) => Body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    /// <summary>
    /// Whether the body holds the attribute <paramref name="key"/> with the string <paramref name="value"/>, as OTLP's
    /// protobuf encodes it: a <c>KeyValue</c> (field 1 the key, field 2 an <c>AnyValue</c> whose field 1 is the string).
    /// </summary>
    public bool HoldsAttribute(string key, string value)
    {
        var anyValue = Field(1, Encoding.UTF8.GetBytes(value));
        return Body.AsSpan().IndexOf([.. Field(1, Encoding.UTF8.GetBytes(key)), .. Field(2, anyValue)]) >= 0;
    }

    // A length-delimited field: its tag (wire type 2), its length as a varint, its bytes.
    private static byte[] Field(int number, byte[] bytes)
    {
        var field = new List<byte> { (byte)((number << 3) | 2) };
        for (var length = (uint)bytes.Length; ; length >>= 7)
        {
            if (length < 0x80)
            {
                field.Add((byte)length);
                break;
            }

            field.Add((byte)((length & 0x7F) | 0x80));
        }

        field.AddRange(bytes);
        return [.. field];
    }
}
