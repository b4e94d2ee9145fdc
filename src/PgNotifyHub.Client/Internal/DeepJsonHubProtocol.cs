using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Client.Internal;

/// <summary>
/// SignalR's JSON hub protocol, reading the hub's invocations whatever the depth of their arguments.
/// </summary>
/// <remarks>
/// <see cref="JsonHubProtocol"/> reads every frame with a reader limited to 64 levels, whatever
/// <c>PayloadSerializerOptions.MaxDepth</c> says (dotnet/aspnetcore#68579). A payload nested deeper (PostgreSQL's jsonb
/// takes thousands of levels) would fail the frame, SignalR closes the connection on a frame it cannot read, and the
/// replay after the reconnect would carry the same payload again: the client would never get past it. So invocations
/// (<c>notify</c>, <c>resync</c>, <c>position</c>) are read here with no depth limit, their arguments bound with the same
/// serializer options; the payload binds to a <see cref="JsonElement"/>, which System.Text.Json builds without
/// recursion. Everything else (pings, close messages, results) and everything written goes through
/// <see cref="JsonHubProtocol"/>.
/// </remarks>
internal sealed class DeepJsonHubProtocol : IHubProtocol
{
    private const byte RecordSeparator = 0x1e;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = int.MaxValue };

    private readonly JsonHubProtocol _json;
    private readonly JsonSerializerOptions _payloadOptions;

    public DeepJsonHubProtocol()
    {
        var options = new JsonHubProtocolOptions();
        options.PayloadSerializerOptions.MaxDepth = int.MaxValue;
        _payloadOptions = options.PayloadSerializerOptions;
        _json = new JsonHubProtocol(Options.Create(options));
    }

    public string Name => _json.Name;

    public int Version => _json.Version;

    public TransferFormat TransferFormat => _json.TransferFormat;

    public bool IsVersionSupported(int version) => _json.IsVersionSupported(version);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => _json.WriteMessage(message, output);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => _json.GetMessageBytes(message);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        if (input.PositionOf(RecordSeparator) is not { } end)
        {
            message = null;
            return false;
        }

        if (TryParseInvocation(input.Slice(0, end), binder, out message))
        {
            input = input.Slice(input.GetPosition(1, end));
            return true;
        }

        return _json.TryParseMessage(ref input, binder, out message);
    }

    // False for anything but a plain invocation (no invocation id, stream ids or headers), and for a frame that is not
    // JSON, which JsonHubProtocol then reports as SignalR always does.
    private bool TryParseInvocation(ReadOnlySequence<byte> frame, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        message = null;
        int? type = null;
        string? target = null;
        var arguments = default(Utf8JsonReader);
        var hasArguments = false;
        try
        {
            var reader = new Utf8JsonReader(frame, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var value))
                    {
                        return false;
                    }

                    type = value;
                }
                else if (reader.ValueTextEquals("target"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    target = reader.GetString();
                }
                else if (reader.ValueTextEquals("arguments"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return false;
                    }

                    // The target may come after the arguments: keep a copy of the reader here and bind once it is known.
                    arguments = reader;
                    hasArguments = true;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("invocationId"u8) || reader.ValueTextEquals("streamIds"u8) || reader.ValueTextEquals("headers"u8))
                {
                    return false;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (type != HubProtocolConstants.InvocationMessageType || target is null || !hasArguments)
        {
            return false;
        }

        message = Bind(target, ref arguments, binder);
        return true;
    }

    // As JsonHubProtocol does: a count or type that does not match is a binding failure, which HubConnection logs and
    // skips; the connection goes on.
    private HubMessage Bind(string target, ref Utf8JsonReader arguments, IInvocationBinder binder)
    {
        try
        {
            var types = binder.GetParameterTypes(target);
            var values = new object?[types.Count];
            var count = 0;
            while (arguments.Read() && arguments.TokenType != JsonTokenType.EndArray)
            {
                if (count == types.Count)
                {
                    throw new InvalidDataException($"Invocation provides more than {types.Count} argument(s) but target expects {types.Count}.");
                }

                values[count] = JsonSerializer.Deserialize(ref arguments, types[count], _payloadOptions);
                count++;
            }

            if (count != types.Count)
            {
                throw new InvalidDataException($"Invocation provides {count} argument(s) but target expects {types.Count}.");
            }

            return new InvocationMessage(target, values);
        }
        catch (Exception exception) when (exception is JsonException or InvalidDataException or NotSupportedException or InvalidOperationException)
        {
            return new InvocationBindingFailureMessage(invocationId: null, target, ExceptionDispatchInfo.Capture(exception));
        }
    }
}
