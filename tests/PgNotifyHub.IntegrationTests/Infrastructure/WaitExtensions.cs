using PgNotifyHub.Listening;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>Waits on the library's state through the events it raises when it changes, which cost it nothing when unused.</summary>
internal static class WaitExtensions
{
    /// <summary>
    /// Completes once at least <paramref name="count"/> sinks are registered for the route. A SignalR client's start
    /// completes before the server registers it, so callers that must not miss the first message wait here.
    /// </summary>
    public static Task WaitForSubscribersAsync(this NotificationRouter router, Route route, int count, CancellationToken cancellationToken) =>
        WaitUntilAsync(handler => router.Changed += handler, handler => router.Changed -= handler, () => router.SubscriberCount(route) >= count ? true : (bool?)null, cancellationToken);

    /// <summary>Completes with the backend's process id once LISTEN is in place on a live connection.</summary>
    public static Task<int> WaitUntilListeningAsync(this NotificationListener listener, CancellationToken cancellationToken) =>
        WaitUntilAsync(handler => listener.StateChanged += handler, handler => listener.StateChanged -= handler, () => listener.BackendProcessId is var backend and not 0 ? backend : (int?)null, cancellationToken);

    /// <summary>Completes once listening on a connection other than the one of <paramref name="previousBackendProcessId"/>.</summary>
    public static Task<int> WaitUntilReconnectedAsync(this NotificationListener listener, int previousBackendProcessId, CancellationToken cancellationToken) =>
        WaitUntilAsync(
            handler => listener.StateChanged += handler,
            handler => listener.StateChanged -= handler,
            () => listener.BackendProcessId is var backend and not 0 && backend != previousBackendProcessId ? backend : (int?)null,
            cancellationToken);

    private static async Task<T> WaitUntilAsync<T>(Action<Action> subscribe, Action<Action> unsubscribe, Func<T?> reached, CancellationToken cancellationToken)
        where T : struct
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (reached() is { } value)
            {
                done.TrySetResult(value);
            }
        }

        subscribe(Check);
        try
        {
            Check();
            return await done.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            unsubscribe(Check);
        }
    }
}
