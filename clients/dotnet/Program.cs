using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using PgNotifyHub.ConsoleClient;

// Prints every message of a PgNotifyHub hub until Ctrl+C, reconnecting as long as it takes and resuming where it left off.
var hubUrl = args.Length > 0 ? args[0] : "http://localhost:8080/hub";

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true; // shut down here, cleanly, instead of being killed
    stopping.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var retry = new ForeverRetryPolicy();
var position = new StreamPosition();

// A HubConnection keeps the URL it was built with, so SignalR's automatic reconnect could not carry the position
// reached since (the query parameter resume), and what was sent while the client was away would be lost without a
// word. Each connection is therefore built afresh with the position in its URL, and every loss (a network drop, a
// server restart, a close by the server) takes this one path. The hub says where the client stands only to clients
// that pass resume, so until there is a position it is passed empty.
var delay = TimeSpan.Zero;
var connectedBefore = false;
while (!stopping.IsCancellationRequested)
{
    var resume = position.Resume();
    await using var connection = new HubConnectionBuilder()
        .WithUrl(WithQueryParameter(hubUrl, "resume", resume ?? ""))
        .Build();
    var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
    connection.Closed += error =>
    {
        closed.TrySetResult(error);
        return Task.CompletedTask;
    };
    connection.On<Envelope>("notify", Print);
    connection.On<ResyncNotice>("resync", notice =>
    {
        position.Resynced(notice);
        Resync(notice.Reason);
    });
    connection.On<PositionNotice>("position", position.Positioned);

    if (!await StartAsync(connection, delay, stopping.Token))
    {
        break;
    }

    Console.Error.WriteLine(resume is null ? $"connected to {hubUrl}" : $"connected to {hubUrl}, resuming");
    // Only a connection lost before the server said where it stood leaves nothing to resume from: what was sent to it
    // meanwhile cannot be replayed.
    if (connectedBefore && resume is null)
    {
        Resync(StreamPosition.UnknownPosition);
    }

    connectedBefore = true;
    Exception? error;
    try
    {
        error = await closed.Task.WaitAsync(stopping.Token);
    }
    catch (OperationCanceledException)
    {
        await connection.StopAsync(); // not cancelled: it only says goodbye to the server
        break;
    }

    delay = retry.NextDelay();
    Console.Error.WriteLine($"connection lost ({error?.Message}); reconnecting in {delay.TotalSeconds:0.0} s");
}

Console.Error.WriteLine("stopped");

void Print(Envelope envelope)
{
    if (!position.Accept(envelope, out var unannouncedStream))
    {
        return; // replayed after a reconnect, and printed already
    }

    if (unannouncedStream)
    {
        Resync(StreamPosition.StreamChanged);
    }

    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} {envelope.Channel} {envelope.Id} {envelope.Payload.GetRawText()}");

    // A typed payload, for messages known to have that shape (JSON's camelCase names bind case-insensitively).
    if (envelope.Payload.TryGetProperty("message", out _))
    {
        var greeting = envelope.Payload.Deserialize<Greeting>(JsonSerializerOptions.Web)!;
        Console.WriteLine($"  message: {greeting.Message}");
    }
}

void Resync(string reason)
{
    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} resync {reason}: messages may have been lost");
    // An application reloads what it shows from its database here, then applies the messages that follow.
}

// A start that fails is not retried by SignalR at all: retry it here, with the same delays. False on Ctrl+C.
async Task<bool> StartAsync(HubConnection connection, TimeSpan delay, CancellationToken cancellationToken)
{
    try
    {
        while (true)
        {
            await Task.Delay(delay, cancellationToken);
            try
            {
                await connection.StartAsync(cancellationToken);
                retry.Connected();
                return true;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                delay = retry.NextDelay();
                Console.Error.WriteLine($"cannot connect ({exception.Message}); retrying in {delay.TotalSeconds:0.0} s");
            }
        }
    }
    catch (Exception) when (cancellationToken.IsCancellationRequested)
    {
        return false;
    }
}

static string WithQueryParameter(string url, string name, string value) =>
    url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + name + "=" + Uri.EscapeDataString(value);
