namespace PgNotifyHub.LoadTest;

/// <summary>One connected client of either transport; disposing it stops its receive loop and closes the connection.</summary>
internal interface IBenchClient : IAsyncDisposable
{
    ClientRecorder Recorder { get; }
}
