using System.Runtime.InteropServices;
using PgNotifyHub.LoadTest;

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (UsageException exception)
{
    await Console.Error.WriteLineAsync(exception.Message + Environment.NewLine + Environment.NewLine + BenchmarkOptions.Usage);
    return 64;
}

if (options.ShowHelp)
{
    Console.WriteLine(BenchmarkOptions.Usage);
    return 0;
}

// Ctrl+C and SIGTERM cancel the runs; the finally blocks then stop the server and the throwaway cluster.
using var interrupted = new CancellationTokenSource();
void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    interrupted.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
return await BenchmarkRunner.RunAsync(options, args, interrupted.Token);
