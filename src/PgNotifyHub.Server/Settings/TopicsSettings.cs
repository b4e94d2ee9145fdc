using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Topics</c> section: which audiences clients may subscribe to at run time, beside those they were given.</summary>
internal sealed class TopicsSettings
{
    public const string SectionName = "Topics";

    [Description("Patterns of the audiences a client may subscribe to, on any of the server's channels: segments separated by ':', a segment '{claim}' filled from the token's claim, a last segment '*' for one or more segments more, e.g. user:{sub} or tenant:{tenant}:*. Empty: clients choose no topic.")]
    public string[] Allow { get; set; } = [];
}
