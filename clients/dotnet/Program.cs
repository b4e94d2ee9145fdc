using System.Runtime.InteropServices;
using PgNotifyHub.Client;
using PgNotifyHub.ConsoleClient;

// Prints every message of a PgNotifyHub hub until Ctrl+C, reconnecting as long as it takes and resuming where it left
// off. The PgNotifyHub.Client package does the work; this program only prints what it reports.
var hubUrl = args.Length > 0 ? args[0] : "http://localhost:8080/hub";

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true; // shut down here, cleanly, instead of being killed
    stopping.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

await using var client = new PgNotifyHubClient(new Uri(hubUrl), new PgNotifyHubClientOptions
{
    // Asked for before every connection attempt, so a real application returns a fresh token here; null sends none.
    AccessTokenProvider = _ => ValueTask.FromResult(Environment.GetEnvironmentVariable("PGNOTIFYHUB_ACCESS_TOKEN")),
});

client.Connected += connected =>
{
    Console.Error.WriteLine(connected.IsResuming ? $"connected to {hubUrl}, resuming" : $"connected to {hubUrl}");
    return Task.CompletedTask;
};

client.Reconnecting += reconnecting =>
{
    Console.Error.WriteLine(reconnecting.ConnectionLost
        ? $"connection lost ({reconnecting.Error?.Message}); reconnecting in {reconnecting.RetryDelay.TotalSeconds:0.0} s"
        : $"cannot connect ({reconnecting.Error?.Message}); retrying in {reconnecting.RetryDelay.TotalSeconds:0.0} s");
    return Task.CompletedTask;
};

client.Received += message =>
{
    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} {message.Channel} {message.Id} {message.Payload.GetRawText()}");

    // A typed payload, for messages known to have that shape (JSON's camelCase names bind case-insensitively).
    if (message.Payload.TryGetProperty("message", out _))
    {
        var greeting = message.Deserialize<Greeting>()!;
        Console.WriteLine($"  message: {greeting.Message}");
    }

    return Task.CompletedTask;
};

client.Resync += resync =>
{
    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} resync {resync.Reason}: messages may have been lost");
    // An application reloads what it shows from its database here, then applies the messages that follow.
    return Task.CompletedTask;
};

try
{
    await client.StartAsync(stopping.Token); // retries until the first connection is up; Ctrl+C gives up
    await Task.Delay(Timeout.Infinite, stopping.Token);
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
}

await client.StopAsync(); // not cancelled: it only says goodbye to the server
Console.Error.WriteLine("stopped");
