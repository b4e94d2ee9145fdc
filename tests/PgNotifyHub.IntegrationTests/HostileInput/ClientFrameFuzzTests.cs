using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// What a raw client sends once connected is discarded, but it is still read: binary and fragmented messages, text
/// that is not UTF-8, messages at and over <c>MaxClientMessageSize</c>, pings, pongs, close frames of every code,
/// frames that break RFC 6455, and floods of tiny frames. The server ignores what is allowed, closes with the code the
/// RFC gives for what is not, logs no more than a Warning, and goes on serving everyone else.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ClientFrameFuzzTests(PostgresFixture postgres)
{
    private const int MaxMessage = 1024;
    private const int Slots = 2;
    private const ushort Normal = 1000;
    private const ushort ProtocolError = 1002;
    private const ushort InvalidPayload = 1007;
    private const ushort TooBig = 1009;

    /// <summary>The raw endpoint's two modes.</summary>
    public enum Mode
    {
        Pgws,
        Sequenced,
    }

    private static readonly (string Description, Func<RawWebSocket, CancellationToken, Task> Send, ushort? Closes)[] Cases =
    [
        ("a binary message", (s, t) => s.SendFrameAsync(RawFrame.Binary, Bytes(10), cancellationToken: t), null),
        ("an empty text message", (s, t) => s.SendFrameAsync(RawFrame.Text, Array.Empty<byte>(), cancellationToken: t), null),
        ("a message of exactly MaxClientMessageSize", (s, t) => s.SendFrameAsync(RawFrame.Text, Bytes(MaxMessage), cancellationToken: t), null),
        ("fragments under the limit with a ping between them", async (s, t) =>
        {
            await s.SendFrameAsync(RawFrame.Text, Bytes(500), fin: false, cancellationToken: t);
            await s.SendFrameAsync(RawFrame.Ping, Bytes(3), cancellationToken: t);
            await s.SendFrameAsync(RawFrame.Continuation, Bytes(MaxMessage - 500), cancellationToken: t);
        }, null),
        ("an unsolicited pong, then a ping", async (s, t) =>
        {
            await s.SendFrameAsync(RawFrame.Pong, Bytes(5), cancellationToken: t);
            await s.SendFrameAsync(RawFrame.Ping, Bytes(125), cancellationToken: t);
        }, null),
        ("5,000 one-byte messages in one write", (s, t) => s.SendFramesAsync(Enumerable.Range(0, 5_000).Select(_ => (RawFrame.Text, "a"u8.ToArray(), true)), t), null),
        ("5,000 pings in one write", (s, t) => s.SendFramesAsync(Enumerable.Range(0, 5_000).Select(_ => (RawFrame.Ping, "p"u8.ToArray(), true)), t), null),
        ("one byte over MaxClientMessageSize", (s, t) => s.SendFrameAsync(RawFrame.Text, Bytes(MaxMessage + 1), cancellationToken: t), TooBig),
        ("binary fragments adding up to more", async (s, t) =>
        {
            for (var i = 0; i < 20; i++)
            {
                await s.SendFrameAsync(i == 0 ? RawFrame.Binary : RawFrame.Continuation, Bytes(100), fin: false, cancellationToken: t);
            }
        }, TooBig),
        ("a frame of 70,000 bytes", (s, t) => s.SendFrameAsync(RawFrame.Binary, Bytes(70_000), cancellationToken: t), TooBig),
        ("text that is not UTF-8", (s, t) => s.SendFrameAsync(RawFrame.Text, new byte[] { 0x61, 0xFF, 0xFE }, cancellationToken: t), InvalidPayload),
        ("a UTF-8-encoded surrogate", (s, t) => s.SendFrameAsync(RawFrame.Text, new byte[] { 0xED, 0xA0, 0x80 }, cancellationToken: t), InvalidPayload),
        ("an overlong encoding split across fragments", async (s, t) =>
        {
            await s.SendFrameAsync(RawFrame.Text, new byte[] { 0x61, 0xC0 }, fin: false, cancellationToken: t);
            await s.SendFrameAsync(RawFrame.Continuation, new byte[] { 0x80 }, cancellationToken: t);
        }, InvalidPayload),
        ("a continuation with nothing to continue", (s, t) => s.SendFrameAsync(RawFrame.Continuation, Bytes(5), cancellationToken: t), ProtocolError),
        ("a new message inside a fragmented one", async (s, t) =>
        {
            await s.SendFrameAsync(RawFrame.Text, Bytes(5), fin: false, cancellationToken: t);
            await s.SendFrameAsync(RawFrame.Binary, Bytes(5), cancellationToken: t);
        }, ProtocolError),
        ("an unmasked frame", (s, t) => s.SendFrameAsync(RawFrame.Text, Bytes(5), mask: false, cancellationToken: t), ProtocolError),
        ("a reserved bit", (s, t) => s.SendFrameAsync(RawFrame.Text, Bytes(5), reserved: 0x40, cancellationToken: t), ProtocolError),
        ("reserved opcode 3", (s, t) => s.SendFrameAsync(3, Bytes(5), cancellationToken: t), ProtocolError),
        ("reserved control opcode 0xB", (s, t) => s.SendFrameAsync(0xB, Bytes(5), cancellationToken: t), ProtocolError),
        ("a ping of 126 bytes", (s, t) => s.SendFrameAsync(RawFrame.Ping, Bytes(126), cancellationToken: t), ProtocolError),
        ("a fragmented ping", (s, t) => s.SendFrameAsync(RawFrame.Ping, Bytes(3), fin: false, cancellationToken: t), ProtocolError),
        ("a close frame of one byte", (s, t) => s.SendFrameAsync(RawFrame.Close, new byte[] { 3 }, cancellationToken: t), ProtocolError),
        ("a close reason that is not UTF-8", (s, t) => s.SendCloseAsync(Normal, [0xFF, 0xFE], t), ProtocolError),
        .. new ushort[] { 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535 }.Select(code =>
            ($"a close frame with the invalid code {code}", (Func<RawWebSocket, CancellationToken, Task>)((s, t) => s.SendCloseAsync(code, "bye"u8.ToArray(), t)), (ushort?)ProtocolError)),
        ("an empty close frame", (s, t) => s.SendCloseAsync(null, [], t), Normal),
        ("a close frame with a reason of 123 bytes", (s, t) => s.SendCloseAsync(Normal, Bytes(123), t), Normal),
        .. new ushort[] { 1001, 1008, 1011, 3000, 4999 }.Select(code =>
            ($"a close frame with the code {code}", (Func<RawWebSocket, CancellationToken, Task>)((s, t) => s.SendCloseAsync(code, "bye"u8.ToArray(), t)), (ushort?)Normal)),
    ];

    [Theory]
    [InlineData(Mode.Pgws)]
    [InlineData(Mode.Sequenced)]
    public async Task Each_kind_of_client_frame_is_ignored_or_closes_its_socket_with_the_code_RFC_6455_gives_it(Mode mode)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.MaxClientMessageSize = MaxMessage;
            options.MaxConnections = Slots;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());

        foreach (var (description, send, closes) in Cases)
        {
            var audience = Names.Audience();
            await using var socket = await OpenAsync(host, mode, audience);
            await send(socket, TestContext.Current.CancellationToken);

            // 0: the connection ended without a close frame.
            var closed = closes is null ? await StaysOpenAsync(host, socket, audience) : await CloseCodeAsync(socket) ?? 0;
            Assert.True(Matches(closed, closes), $"{mode}, {description}: {(closed is null ? "still open" : "closed with " + closed)}, expected {(closes is null ? "still open" : "closed with " + closes)}.");
            await StormAftermath.ConnectionsSettledAsync(host.Logs);
        }

        var tooBig = Cases.Count(c => c.Closes == TooBig);
        Assert.Equal(tooBig, meter["pgnotifyhub.connection.closed_by_server", "websocket", "message_too_big"]);
        var warnings = host.Logs.Entries.Where(e => e.Level == LogLevel.Warning).ToList();
        Assert.True(warnings.All(e => e.EventId.Name == "ClientMessageTooBig") && warnings.Count == tooBig, string.Join(Environment.NewLine, warnings));
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, mode.ToString());
    }

    [Theory]
    [InlineData(Mode.Pgws)]
    [InlineData(Mode.Sequenced)]
    public async Task Random_frame_sequences_are_ignored_or_close_their_socket_with_an_RFC_6455_code_and_never_an_error(Mode mode)
    {
        const int Sequences = 40;
        var seed = FuzzInput.Seed(20261231 + (int)mode);
        var random = new Random(seed);
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.MaxClientMessageSize = MaxMessage;
            options.MaxConnections = Slots;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var codes = new Dictionary<ushort, int>();
        var tooBig = 0;
        var expectations = new HashSet<ushort>();

        for (var i = 0; i < Sequences; i++)
        {
            await using var socket = await OpenAsync(host, mode, Names.Audience());
            // Most sequences keep to the protocol's rules, so they reach the limit and the UTF-8 check; the rest break any rule.
            var wild = random.Next(3) == 0;
            var frames = Enumerable.Range(0, random.Next(1, 9)).Select(_ => RandomFrame(random, wild)).ToList();
            try
            {
                foreach (var (opcode, payload, fin, mask, reserved) in frames)
                {
                    await socket.SendFrameAsync(opcode, payload, fin, mask, reserved, TestContext.Current.CancellationToken);
                }

                // A clean close after whatever came before: the server answers it, or has closed already.
                await socket.SendCloseAsync(Normal, [], TestContext.Current.CancellationToken);
            }
            catch (IOException)
            {
                // The server closed the connection while frames were still being sent.
            }

            // 0: the connection ended without a close frame, which only a protocol error may cause.
            var code = await CloseCodeAsync(socket) ?? 0;
            codes[code] = codes.GetValueOrDefault(code) + 1;
            var expected = ExpectedClose(frames);
            tooBig += expected.First == TooBig ? 1 : 0;
            expectations.Add(expected.First);
            Assert.True(
                Matches(code, expected),
                $"Seed {seed}, sequence {i}, {mode}: closed with {code}, expected {expected}, after {string.Join(", ", frames.Select(f => $"opcode {f.Opcode} fin {f.Fin} mask {f.Mask} rsv {f.Reserved:x} {f.Payload.Length} bytes"))}.");
            await StormAftermath.ConnectionsSettledAsync(host.Logs);
        }

        TestContext.Current.TestOutputHelper?.WriteLine("Close codes: " + string.Join(", ", codes.Select(c => $"{c.Key} ×{c.Value}")));
        Assert.True(expectations.Count >= 3, $"Seed {seed}: the sequences only called for {string.Join(", ", expectations)}; the generator must reach more outcomes.");
        Assert.Equal(tooBig, meter["pgnotifyhub.connection.closed_by_server", "websocket", "message_too_big"]);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Name != "ClientMessageTooBig");
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, $"Seed {seed}, {mode}");
    }

    private static async Task<RawWebSocket> OpenAsync(NotifyTestHost host, Mode mode, string audience)
    {
        var answer = await RawWebSocket.OpenAsync(
            host.BaseUri,
            mode == Mode.Sequenced ? "/ws?resume=" : "/ws",
            mode == Mode.Sequenced ? [(NotifyTestHost.AudienceHeader, audience), ("Sec-WebSocket-Protocol", "pgnotifyhub.v1")] : [(NotifyTestHost.AudienceHeader, audience)],
            TestContext.Current.CancellationToken).OrTimeout();
        return answer.Socket ?? throw new InvalidOperationException($"The handshake was refused with {answer.Status}.");
    }

    // Proves the socket still delivers, then closes it cleanly; null when it stayed open throughout.
    private async Task<ushort?> StaysOpenAsync(NotifyTestHost host, RawWebSocket socket, string audience)
    {
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
        try
        {
            await socket.ReceiveUntilMarkerAsync(marker);
        }
        catch (InvalidOperationException)
        {
            return await CloseCodeAsync(socket) ?? 0;
        }

        await socket.SendCloseAsync(Normal, [], TestContext.Current.CancellationToken);
        return await CloseCodeAsync(socket) == Normal ? null : 0;
    }

    // The code of the server's close frame, answered as a client must; null when the connection ended without one.
    private static async Task<ushort?> CloseCodeAsync(RawWebSocket socket)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancellation.CancelAfter(TimeoutExtensions.DefaultTimeout);
        var (close, _) = await socket.ReceiveUntilClosedAsync(cancellation.Token);
        if (close?.CloseCode is { } code)
        {
            try
            {
                await socket.SendCloseAsync(code, [], cancellation.Token);
            }
            catch (IOException)
            {
                // The server did not wait for the answer.
            }
        }

        return close?.CloseCode;
    }

    // A client that breaks the protocol may see the close frame, or only the end of the connection: the server fails the
    // connection (RFC 6455, 7.1.7) and need not wait for the client to read its close frame.
    private static bool Matches(ushort? closed, ushort? expected) =>
        closed == expected || (closed == 0 && expected is ProtocolError or InvalidPayload);

    private static bool Matches(ushort closed, (ushort First, bool ViolationAfterTooBig) expected) =>
        Matches(closed, expected.First) || (expected.ViolationAfterTooBig && closed is 0 or ProtocolError or InvalidPayload);

    // What RFC 6455 makes of a sequence of client frames followed by a clean close: the first protocol violation
    // (1002), text that is not UTF-8 (1007), a message over the limit (1009), or a normal close. After a message over
    // the limit the server still reads until the client's close, so a violation that follows may end the connection
    // before its 1009 goes out: then the later outcome is allowed too.
    private static (ushort First, bool ViolationAfterTooBig) ExpectedClose(IEnumerable<(byte Opcode, byte[] Payload, bool Fin, bool Mask, byte Reserved)> frames)
    {
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        byte? message = null;
        var text = new List<byte>();
        var size = 0;
        ushort? first = null;
        foreach (var (opcode, payload, fin, mask, reserved) in frames)
        {
            var outcome = Outcome(opcode, payload, fin, mask, reserved);
            if (outcome is { } closes && first is null)
            {
                first = closes;
                if (closes != TooBig)
                {
                    return (closes, false);
                }
            }
            else if (outcome is ProtocolError or InvalidPayload or Normal && first == TooBig)
            {
                return (TooBig, outcome != Normal);
            }
        }

        return (first ?? Normal, false);

        ushort? Outcome(byte opcode, byte[] payload, bool fin, bool mask, byte reserved)
        {
            if (!mask || reserved != 0 || opcode is > RawFrame.Binary and < RawFrame.Close or > RawFrame.Pong)
            {
                return ProtocolError;
            }

            if (opcode >= RawFrame.Close)
            {
                if (!fin || payload.Length > 125)
                {
                    return ProtocolError;
                }

                if (opcode == RawFrame.Close)
                {
                    return payload.Length == 0 || (payload.Length >= 2 && IsValidCloseCode((ushort)(payload[0] << 8 | payload[1])) && IsUtf8(strictUtf8, payload[2..], complete: true))
                        ? Normal
                        : ProtocolError;
                }

                return null;
            }

            if ((opcode == RawFrame.Continuation) != (message is not null))
            {
                return ProtocolError;
            }

            message ??= opcode;
            size += payload.Length;
            var tooBig = size > MaxMessage;
            if (message == RawFrame.Text)
            {
                text.AddRange(payload);
                if (!IsUtf8(strictUtf8, [.. text], complete: fin))
                {
                    return tooBig && first is null ? TooBig : InvalidPayload;
                }
            }

            if (fin)
            {
                (message, size) = (null, 0);
                text.Clear();
            }

            return tooBig && first is null ? TooBig : null;
        }
    }

    // The codes a peer may send (RFC 6455, 7.4): the defined ones, and 3000-4999.
    private static bool IsValidCloseCode(ushort code) => code is >= 1000 and <= 1003 or >= 1007 and <= 1014 or >= 3000 and <= 4999;

    // Whether bytes are UTF-8, allowing an incomplete character at the end of a message not yet complete.
    private static bool IsUtf8(UTF8Encoding strict, byte[] bytes, bool complete)
    {
        try
        {
            strict.GetDecoder().GetCharCount(bytes, 0, bytes.Length, flush: complete);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static (byte Opcode, byte[] Payload, bool Fin, bool Mask, byte Reserved) RandomFrame(Random random, bool wild)
    {
        byte[] opcodes = wild
            ? [RawFrame.Text, RawFrame.Binary, RawFrame.Continuation, RawFrame.Ping, RawFrame.Pong, RawFrame.Close, 3, 0xB]
            : [RawFrame.Text, RawFrame.Text, RawFrame.Binary, RawFrame.Continuation, RawFrame.Continuation, RawFrame.Ping, RawFrame.Pong];
        var opcode = opcodes[random.Next(opcodes.Length)];
        var control = opcode >= RawFrame.Close;
        var payload = random.Next(4) switch
        {
            0 => Encoding.UTF8.GetBytes(FuzzInput.Text(random, 30)),
            1 => RandomBytes(random, random.Next(0, 130)),
            2 when !control || wild => Bytes(random.Next(0, MaxMessage / 2)),
            _ => [],
        };
        var fin = control && !wild || random.Next(4) != 0;
        var mask = !wild || random.Next(10) != 0;
        var reserved = wild && random.Next(10) == 0 ? (byte)(0x10 << random.Next(3)) : (byte)0;
        return (opcode, control && !wild ? payload[..Math.Min(payload.Length, 125)] : payload, fin, mask, reserved);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Bytes(int length) => [.. Enumerable.Repeat((byte)'x', length)];
}
