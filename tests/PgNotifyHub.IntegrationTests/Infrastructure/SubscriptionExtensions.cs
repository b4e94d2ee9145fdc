using System.Runtime.CompilerServices;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

public static class SubscriptionExtensions
{
    public static Envelope ToEnvelope(this PgNotification notification) => Envelope.Parse(notification.ToString());

    /// <summary>The next notification of an in-process subscription, within the default timeout.</summary>
    public static async Task<PgNotification> NextAsync(
        this IAsyncEnumerator<PgNotification> subscription,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0)
    {
        Assert.True(await subscription.MoveNextAsync().AsTask().OrTimeout(filePath: filePath, lineNumber: lineNumber), "The subscription ended.");
        return subscription.Current;
    }

    /// <summary>Notifications of an in-process subscription up to and excluding the marker.</summary>
    public static async Task<IReadOnlyList<PgNotification>> UntilMarkerAsync(
        this IAsyncEnumerator<PgNotification> subscription,
        string markerId,
        [CallerFilePath] string filePath = "",
        [CallerLineNumber] int lineNumber = 0)
    {
        var before = new List<PgNotification>();
        while (true)
        {
            var notification = await subscription.NextAsync(filePath, lineNumber);
            if (notification.ToEnvelope().IsMarker(markerId))
            {
                return before;
            }

            before.Add(notification);
        }
    }
}
