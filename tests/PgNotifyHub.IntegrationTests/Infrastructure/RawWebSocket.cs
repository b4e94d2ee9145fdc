using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>One WebSocket frame as it came off the wire.</summary>
public sealed record RawFrame(bool Fin, byte Opcode, byte[] Payload)
{
    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    /// <summary>The status code of a close frame; null when it carries none.</summary>
    public ushort? CloseCode => Opcode == Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string PayloadText => Encoding.UTF8.GetString(Opcode == Close && Payload.Length >= 2 ? Payload.AsSpan(2) : Payload);
}

/// <summary>
/// A WebSocket spoken byte by byte over TCP: a handshake of any bytes, and frames no client library would send
/// (reserved bits and opcodes, unmasked, fragmented control frames, invalid UTF-8, any close code). Reads the server's
/// frames as they are, without answering anything by itself.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawWebSocket(TcpClient tcp, NetworkStream stream)
    {
        _tcp = tcp;
        _stream = stream;
    }

    /// <summary>The status line and headers of a handshake's answer.</summary>
    public sealed record Answer(HttpStatusCode Status, IReadOnlyList<(string Name, string Value)> Headers, RawWebSocket? Socket)
    {
        public string? Header(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    }

    /// <summary>
    /// Sends a WebSocket handshake for <paramref name="pathAndQuery"/> (bytes as given, so a request line may hold
    /// anything) with <paramref name="headers"/> after the handshake's own; a <c>Host</c> among them replaces the default.
    /// Returns the answer, and the open socket when it is 101.
    /// </summary>
    public static Task<Answer> OpenAsync(Uri baseUri, string pathAndQuery, IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken) =>
        OpenAsync(baseUri, Encoding.UTF8.GetBytes(pathAndQuery), headers.Select(h => (h.Name, Encoding.UTF8.GetBytes(h.Value))), cancellationToken);

    /// <summary>As <see cref="OpenAsync(Uri, string, IEnumerable{ValueTuple{string, string}}, CancellationToken)"/>, with raw bytes for the target and header values.</summary>
    public static async Task<Answer> OpenAsync(Uri baseUri, byte[] pathAndQuery, IEnumerable<(string Name, byte[] Value)> headers, CancellationToken cancellationToken)
    {
        var lines = headers.ToList();
        using var request = new MemoryStream();
        void Write(string text) => request.Write(Encoding.ASCII.GetBytes(text));
        Write("GET ");
        request.Write(pathAndQuery);
        Write(" HTTP/1.1\r\n");
        if (!lines.Any(h => h.Name.Equals("Host", StringComparison.OrdinalIgnoreCase)))
        {
            Write("Host: " + baseUri.Authority + "\r\n");
        }

        Write("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)) + "\r\n");
        foreach (var (name, value) in lines)
        {
            Write(name + ": ");
            request.Write(value);
            Write("\r\n");
        }

        Write("\r\n");
        return await SendRequestAsync(baseUri, request.ToArray(), cancellationToken);
    }

    /// <summary>Sends <paramref name="request"/> as it is (a whole HTTP request) and reads the answer's head.</summary>
    public static async Task<Answer> SendRequestAsync(Uri baseUri, byte[] request, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(baseUri.Host, baseUri.Port, cancellationToken);
            var stream = tcp.GetStream();
            await stream.WriteAsync(request, cancellationToken);

            // The head byte by byte up to the blank line, so nothing of the first frame is consumed with it.
            var head = new List<byte>();
            var one = new byte[1];
            while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
            {
                if (await stream.ReadAsync(one, cancellationToken) == 0)
                {
                    if (head.Count == 0)
                    {
                        throw new IOException("The server closed the connection without an answer.");
                    }

                    break;
                }

                head.Add(one[0]);
            }

            var text = Encoding.Latin1.GetString([.. head]).Split("\r\n");
            var status = (HttpStatusCode)int.Parse(text[0].Split(' ')[1], CultureInfo.InvariantCulture);
            var answerHeaders = text.Skip(1).Where(line => line.Contains(':', StringComparison.Ordinal))
                .Select(line => (line[..line.IndexOf(':', StringComparison.Ordinal)].Trim(), line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()))
                .ToList();
            if (status != HttpStatusCode.SwitchingProtocols)
            {
                tcp.Dispose();
                return new Answer(status, answerHeaders, null);
            }

            return new Answer(status, answerHeaders, new RawWebSocket(tcp, stream));
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Writes one frame. A client's frames are masked; <paramref name="mask"/> false breaks that rule.</summary>
    /// <param name="opcode">The opcode, including reserved ones.</param>
    /// <param name="payload">The payload, before masking.</param>
    /// <param name="fin">Whether it ends its message.</param>
    /// <param name="mask">Whether to mask it, as clients must.</param>
    /// <param name="reserved">The three reserved bits (RSV1-3) as the high bits 0x70 of the first byte.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task SendFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, bool fin = true, bool mask = true, byte reserved = 0, CancellationToken cancellationToken = default) =>
        await _stream.WriteAsync(Frame(opcode, payload.Span, fin, mask, reserved), cancellationToken);

    /// <summary>Several frames in one write, as a client that floods does.</summary>
    public async Task SendFramesAsync(IEnumerable<(byte Opcode, byte[] Payload, bool Fin)> frames, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        foreach (var (opcode, payload, fin) in frames)
        {
            buffer.Write(Frame(opcode, payload, fin, mask: true, reserved: 0));
        }

        await _stream.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
    }

    public Task SendTextAsync(string text, CancellationToken cancellationToken) => SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes(text), cancellationToken: cancellationToken);

    /// <summary>A close frame with any code (null: none) and reason bytes.</summary>
    public Task SendCloseAsync(ushort? code, byte[] reason, CancellationToken cancellationToken)
    {
        var payload = new byte[(code is null ? 0 : 2) + reason.Length];
        if (code is { } value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload, value);
        }

        reason.CopyTo(payload.AsSpan(code is null ? 0 : 2));
        return SendFrameAsync(RawFrame.Close, payload, cancellationToken: cancellationToken);
    }

    /// <summary>The next frame from the server; null when it closed the TCP connection.</summary>
    public async Task<RawFrame?> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[2];
        if (!await ReadExactlyOrEndAsync(header, cancellationToken))
        {
            return null;
        }

        long length = header[1] & 0x7F;
        if (length == 126)
        {
            var extended = new byte[2];
            await ReadExactlyOrThrowAsync(extended, cancellationToken);
            length = BinaryPrimitives.ReadUInt16BigEndian(extended);
        }
        else if (length == 127)
        {
            var extended = new byte[8];
            await ReadExactlyOrThrowAsync(extended, cancellationToken);
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }

        var maskKey = new byte[4];
        var masked = (header[1] & 0x80) != 0;
        if (masked)
        {
            await ReadExactlyOrThrowAsync(maskKey, cancellationToken);
        }

        var payload = new byte[length];
        await ReadExactlyOrThrowAsync(payload, cancellationToken);
        if (masked)
        {
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] ^= maskKey[i % 4];
            }
        }

        return new RawFrame((header[0] & 0x80) != 0, (byte)(header[0] & 0x0F), payload);
    }

    /// <summary>
    /// Reads until the server's close frame or the end of the connection, answering nothing; returns the close frame
    /// (null when the connection ended without one) and the text messages before it.
    /// </summary>
    public async Task<(RawFrame? Close, IReadOnlyList<string> Texts)> ReceiveUntilClosedAsync(CancellationToken cancellationToken)
    {
        var texts = new List<string>();
        var message = new List<byte>();
        while (true)
        {
            RawFrame? frame;
            try
            {
                frame = await ReceiveFrameAsync(cancellationToken);
            }
            catch (IOException)
            {
                return (null, texts);
            }

            switch (frame)
            {
                case null:
                    return (null, texts);
                case { Opcode: RawFrame.Close }:
                    return (frame, texts);
                case { Opcode: RawFrame.Text or RawFrame.Continuation }:
                    message.AddRange(frame.Payload);
                    if (frame.Fin)
                    {
                        texts.Add(Encoding.UTF8.GetString([.. message]));
                        message.Clear();
                    }

                    break;
            }
        }
    }

    /// <summary>The next complete text message, skipping control frames; null when the server closed.</summary>
    public async Task<string?> ReceiveTextAsync(CancellationToken cancellationToken)
    {
        var message = new List<byte>();
        while (await ReceiveFrameAsync(cancellationToken) is { } frame)
        {
            if (frame.Opcode == RawFrame.Close)
            {
                return null;
            }

            if (frame.Opcode is RawFrame.Text or RawFrame.Continuation)
            {
                message.AddRange(frame.Payload);
                if (frame.Fin)
                {
                    return Encoding.UTF8.GetString([.. message]);
                }
            }
        }

        return null;
    }

    /// <summary>Ends the TCP connection at once, without a close frame: a client that vanished.</summary>
    public void Abort()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin, bool mask, byte reserved)
    {
        var lengthBytes = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        var frame = new byte[2 + lengthBytes + (mask ? 4 : 0) + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | (reserved & 0x70) | (opcode & 0x0F));
        frame[1] = (byte)((mask ? 0x80 : 0) | (lengthBytes == 0 ? payload.Length : lengthBytes == 2 ? 126 : 127));
        if (lengthBytes == 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else if (lengthBytes == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }

        var offset = 2 + lengthBytes;
        if (!mask)
        {
            payload.CopyTo(frame.AsSpan(offset));
            return frame;
        }

        var key = RandomNumberGenerator.GetBytes(4);
        key.CopyTo(frame.AsSpan(offset));
        offset += 4;
        for (var i = 0; i < payload.Length; i++)
        {
            frame[offset + i] = (byte)(payload[i] ^ key[i % 4]);
        }

        return frame;
    }

    private async Task<bool> ReadExactlyOrEndAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (count == 0)
            {
                if (read == 0)
                {
                    return false;
                }

                throw new IOException("The connection ended inside a frame.");
            }

            read += count;
        }

        return true;
    }

    private async Task ReadExactlyOrThrowAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length > 0 && !await ReadExactlyOrEndAsync(buffer, cancellationToken))
        {
            throw new IOException("The connection ended inside a frame.");
        }
    }
}
