using PgNotifyHub.Server.Settings;

namespace PgNotifyHub.Server;

/// <summary>
/// The topics a connection may subscribe to, from <c>Topics:Allow</c> without code: an audience is allowed when one of
/// the patterns (<see cref="TopicPattern"/>) allows it for the connection's claims. Checked on every subscription, so on
/// every reconnect with the token of that connection.
/// </summary>
internal static class ServerTopics
{
    /// <summary>The authorizer of the server's endpoints; null, so that clients choose no topic, when no pattern is set.</summary>
    /// <exception cref="InvalidSettingException">A pattern is invalid, or one names a claim while there are no tokens.</exception>
    public static PgNotifyHubTopicAuthorizer? Authorizer(TopicsSettings topics, AuthenticationSettings authentication)
    {
        var patterns = new TopicPattern[topics.Allow.Length];
        for (var i = 0; i < patterns.Length; i++)
        {
            var key = $"{TopicsSettings.SectionName}:{nameof(TopicsSettings.Allow)}:{i}";
            patterns[i] = TopicPattern.Parse(topics.Allow[i], key);
            if (patterns[i].UsesClaims && !authentication.JwtConfigured)
            {
                throw new InvalidSettingException(
                    $"{key} is '{patterns[i].Text}', which names a claim, but there are no claims without a token: configure Authentication:Jwt (SigningKey or Authority).");
            }
        }

        if (patterns.Length == 0)
        {
            return null;
        }

        return (context, topic) =>
        {
            foreach (var pattern in patterns)
            {
                if (pattern.Allows(topic.Audience, context.User))
                {
                    return ValueTask.FromResult(true);
                }
            }

            return ValueTask.FromResult(false);
        };
    }
}
