using Microsoft.AspNetCore.Http;

namespace PgNotifyHub.Transports;

/// <summary>Runs the application's audience resolver and checks what it returned, for both transports.</summary>
internal static class AudienceResolution
{
    public static async ValueTask<(IReadOnlyList<string> Audiences, string? Refusal)> ResolveAsync(PgNotifyHubAudienceResolver resolver, HttpContext context, int maxAudiences)
    {
        var audiences = await resolver(context);
        if (audiences is null || audiences.Count == 0)
        {
            return ([], "the audience resolver returned no audience.");
        }

        if (audiences.Count > maxAudiences)
        {
            return ([], $"the audience resolver returned {audiences.Count} audiences; at most {maxAudiences} are allowed ({PgNotifyHubOptions.SectionName}:{nameof(PgNotifyHubOptions.MaxAudiencesPerConnection)}).");
        }

        foreach (var audience in audiences)
        {
            if (string.IsNullOrEmpty(audience))
            {
                return ([], "the audience resolver returned an empty audience.");
            }
        }

        return (audiences.Distinct(StringComparer.Ordinal).ToArray(), null);
    }
}
