using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Runs the micro-benchmarks: <c>dotnet run -c Release --project benchmarks/PgNotifyHub.Benchmarks -- --filter '*'</c>.</summary>
public partial class Program;
