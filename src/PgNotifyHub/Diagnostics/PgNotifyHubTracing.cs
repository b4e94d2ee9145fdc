using System.Diagnostics;
using System.Reflection;

namespace PgNotifyHub.Diagnostics;

/// <summary>
/// The library's spans, on the <see cref="ActivitySource"/> <c>PgNotifyHub</c>; docs/OPERATIONS.md (Tracing) shows
/// their shape. A span is created only when a listener samples it: otherwise every start returns null, every other
/// method takes null and does nothing, and nothing is allocated, so the hot path costs one check per batch.
/// </summary>
/// <remarks>
/// Attributes follow OpenTelemetry's messaging and database conventions where they fit (<c>messaging.*</c>,
/// <c>db.*</c>, <c>server.*</c>, <c>error.type</c>) and are in the <c>pgnotifyhub.</c> namespace where none does.
/// </remarks>
internal static class PgNotifyHubTracing
{
    public const string SourceName = "PgNotifyHub";

    public const string ListenerConnectSpan = "pgnotifyhub.listener.connect";
    public const string ReceiveSpan = "pgnotifyhub.receive";
    public const string OutboxReadSpan = "pgnotifyhub.outbox.read";
    public const string DispatchSpan = "pgnotifyhub.dispatch";
    public const string PublishSpan = "pgnotifyhub.publish";
    public const string BackplanePublishSpan = "pgnotifyhub.backplane.publish";
    public const string BackplaneReceiveSpan = "pgnotifyhub.backplane.receive";

    /// <summary>The event a dispatch span gets when it tells every client to resync after a listener reconnect.</summary>
    public const string ResyncEvent = "pgnotifyhub.resync";

    /// <summary>The <c>error.type</c> of a notification dropped because its payload is not <c>audience,{json object}</c>.</summary>
    public const string InvalidPayload = "invalid_payload";

    /// <summary>The attributes the spans carry.</summary>
    public static class Attributes
    {
        public const string MessagingSystem = "messaging.system";
        public const string OperationType = "messaging.operation.type";
        public const string Destination = "messaging.destination.name";
        public const string MessageCount = "messaging.batch.message_count";
        public const string MessageId = "messaging.message.id";
        public const string DbSystem = "db.system.name";
        public const string DbNamespace = "db.namespace";
        public const string ServerAddress = "server.address";
        public const string ServerPort = "server.port";
        public const string ErrorType = "error.type";
        public const string Audience = "pgnotifyhub.audience";
        public const string AudienceCount = "pgnotifyhub.audience.count";
        public const string RecipientCount = "pgnotifyhub.recipient.count";
        public const string Sequence = "pgnotifyhub.sequence";
        public const string BackendProcessId = "pgnotifyhub.listener.backend_pid";
        public const string Channels = "pgnotifyhub.listener.channels";
        public const string Reconnect = "pgnotifyhub.listener.reconnect";
        public const string OutboxReader = "pgnotifyhub.outbox.reader";
        public const string Hub = "pgnotifyhub.backplane.hub";
        public const string FrameKind = "pgnotifyhub.backplane.frame.kind";
        public const string Spilled = "pgnotifyhub.backplane.spilled";
        public const string SpillCount = "pgnotifyhub.backplane.spill.count";
        public const string NotifyCount = "pgnotifyhub.backplane.notify.count";
    }

    /// <summary><c>messaging.system</c>: the broker is PostgreSQL, as <c>db.system.name</c> names it.</summary>
    private const string PostgreSql = "postgresql";

    public static ActivitySource Source { get; } = new(
        SourceName,
        typeof(PgNotifyHubTracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>Opening the listener's connection and LISTENing; ended by <see cref="ListenerConnected"/> or <see cref="Failed"/>.</summary>
    public static Activity? StartListenerConnect(string? host, int port, string? database)
    {
        if (!Source.HasListeners() || Source.StartActivity(ListenerConnectSpan, ActivityKind.Client) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.DbSystem, PostgreSql);
            activity.SetTag(Attributes.ServerAddress, host);
            activity.SetTag(Attributes.ServerPort, port);
            activity.SetTag(Attributes.DbNamespace, database);
        }

        return activity;
    }

    public static void ListenerConnected(Activity? activity, int backendProcessId, IEnumerable<string> channels, bool reconnect)
    {
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.BackendProcessId, backendProcessId);
            activity.SetTag(Attributes.Channels, channels.Order(StringComparer.Ordinal).ToArray());
            activity.SetTag(Attributes.Reconnect, reconnect);
        }

        activity.Dispose();
    }

    /// <summary>
    /// Records <paramref name="exception"/> on a span still running and ends it; shutdown is not an error. Returns false,
    /// to be used as an exception filter that lets the exception go on.
    /// </summary>
    public static bool Failed(Activity? activity, Exception exception)
    {
        if (activity is null || activity.IsStopped)
        {
            return false;
        }

        if (exception is not OperationCanceledException)
        {
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            if (activity.IsAllDataRequested)
            {
                activity.SetTag(Attributes.ErrorType, exception.GetType().FullName);
                activity.AddException(exception);
            }
        }

        activity.Dispose();
        return false;
    }

    /// <summary>What one read of the listener's connection delivered, handed to the dispatcher: a root span.</summary>
    public static Activity? StartReceive(int backendProcessId, int count, string? channel)
    {
        if (!Source.HasListeners() || Source.StartActivity(ReceiveSpan, ActivityKind.Consumer, parentContext: default) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "receive");
            activity.SetTag(Attributes.Destination, channel);
            activity.SetTag(Attributes.MessageCount, count);
            activity.SetTag(Attributes.BackendProcessId, backendProcessId);
        }

        return activity;
    }

    /// <summary>One read of the outbox: a root span, the parent of the dispatch of what it read.</summary>
    public static Activity? StartOutboxRead(string readerName)
    {
        if (!Source.HasListeners() || Source.StartActivity(OutboxReadSpan, ActivityKind.Client, parentContext: default) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.DbSystem, PostgreSql);
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "receive");
            activity.SetTag(Attributes.OutboxReader, readerName);
        }

        return activity;
    }

    public static void OutboxRead(Activity? activity, int count)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.MessageCount, count);
        }
    }

    /// <summary>A batch the dispatcher took from its queue, under the span that received it (<paramref name="origin"/>).</summary>
    public static Activity? StartDispatch(Activity? origin)
    {
        if (!Source.HasListeners() || Source.StartActivity(DispatchSpan, ActivityKind.Internal, origin?.Context ?? default) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "process");
        }

        return activity;
    }

    public static void Dispatched(Activity? activity, int count, string? channel, int audiences, int recipients)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.MessageCount, count);
            activity.SetTag(Attributes.Destination, channel);
            activity.SetTag(Attributes.AudienceCount, audiences);
            activity.SetTag(Attributes.RecipientCount, recipients);
        }
    }

    /// <summary>One notification of a dispatched batch: parsed, numbered and handed to its recipients; only under a batch's span.</summary>
    public static Activity? StartPublish(Activity? batch, string channel)
    {
        if (batch is null || Source.StartActivity(PublishSpan, ActivityKind.Internal, batch.Context) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "process");
            activity.SetTag(Attributes.Destination, channel);
        }

        return activity;
    }

    public static void Published(Activity? activity, string audience, Guid id, long sequence, int recipients)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.Audience, audience);
            activity.SetTag(Attributes.MessageId, id.ToString());
            activity.SetTag(Attributes.Sequence, sequence);
            activity.SetTag(Attributes.RecipientCount, recipients);
        }
    }

    public static void PayloadInvalid(Activity? activity, string reason)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, reason);
            activity.SetTag(Attributes.ErrorType, InvalidPayload);
        }
    }

    /// <summary>
    /// One batch the backplane publishes, a root span linked to the span of each send in it (<paramref name="senders"/>),
    /// as OpenTelemetry's messaging conventions link a batch to its messages.
    /// </summary>
    public static Activity? StartBackplanePublish(IEnumerable<ActivityContext> senders, int count, string? channel)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = senders.Where(sender => sender != default).Distinct().Select(sender => new ActivityLink(sender)).ToList();
        if (Source.StartActivity(BackplanePublishSpan, ActivityKind.Producer, parentContext: default, links: links) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "send");
            activity.SetTag(Attributes.Destination, channel);
            activity.SetTag(Attributes.MessageCount, count);
        }

        return activity;
    }

    public static void BackplanePublished(Activity? activity, int notifies, int spills)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.NotifyCount, notifies);
            activity.SetTag(Attributes.SpillCount, spills);
        }
    }

    /// <summary>One frame the backplane received, under the dispatch span that handed it over (<paramref name="origin"/>).</summary>
    public static Activity? StartBackplaneReceive(Activity? origin, string channel, string hub, bool spilled)
    {
        if (!Source.HasListeners() || Source.StartActivity(BackplaneReceiveSpan, ActivityKind.Consumer, origin?.Context ?? default) is not { } activity)
        {
            return null;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(Attributes.MessagingSystem, PostgreSql);
            activity.SetTag(Attributes.OperationType, "process");
            activity.SetTag(Attributes.Destination, channel);
            activity.SetTag(Attributes.Hub, hub);
            activity.SetTag(Attributes.Spilled, spilled);
        }

        return activity;
    }

    public static void BackplaneFrameRead(Activity? activity, string? kind)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.FrameKind, kind);
        }
    }
}
