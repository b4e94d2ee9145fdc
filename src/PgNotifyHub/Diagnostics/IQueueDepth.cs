namespace PgNotifyHub.Diagnostics;

/// <summary>A recipient whose send queue the meter reports (<c>pgnotifyhub.send_queue.depth</c>).</summary>
internal interface IQueueDepth
{
    /// <summary>The notifications posted to it and not yet sent or consumed.</summary>
    int QueueDepth { get; }
}
