using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using PgNotifyHub.ConsoleClient;

// Prints every message of a PgNotifyHub hub until Ctrl+C, reconnecting as long as it takes.
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
await using var connection = new HubConnectionBuilder()
    .WithUrl(hubUrl)
    .WithAutomaticReconnect(retry)
    .Build();

connection.On<Envelope>("notify", envelope =>
{
    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} {envelope.Channel} {envelope.Id} {envelope.Payload.GetRawText()}");

    // A typed payload, for messages known to have that shape (JSON's camelCase names bind case-insensitively).
    if (envelope.Payload.TryGetProperty("message", out _))
    {
        var greeting = envelope.Payload.Deserialize<Greeting>(JsonSerializerOptions.Web)!;
        Console.WriteLine($"  message: {greeting.Message}");
    }
});
connection.Reconnecting += error =>
{
    Console.Error.WriteLine($"reconnecting: {error?.Message}");
    return Task.CompletedTask;
};
connection.Reconnected += _ =>
{
    retry.Connected();
    Console.Error.WriteLine("connected");
    return Task.CompletedTask;
};
// Automatic reconnect covers a connection that was up and broke. Closed still fires when the server ends the
// connection without allowing a reconnect: start over, as after a failed start.
connection.Closed += async error =>
{
    if (!stopping.IsCancellationRequested)
    {
        var delay = retry.NextDelay();
        Console.Error.WriteLine($"closed ({error?.Message}); starting again in {delay.TotalSeconds:0.0} s");
        await StartAsync(delay, stopping.Token);
    }
};

await StartAsync(TimeSpan.Zero, stopping.Token);
await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // until Ctrl+C

await connection.StopAsync(); // not cancelled: it only says goodbye to the server
Console.Error.WriteLine("stopped");

// A start that fails is not retried by automatic reconnect at all: retry it here, with the same delays.
async Task StartAsync(TimeSpan delay, CancellationToken cancellationToken)
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
                Console.Error.WriteLine($"connected to {hubUrl}");
                return;
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
        // Ctrl+C while connecting or waiting.
    }
}
