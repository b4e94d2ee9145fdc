using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace PgNotifyHub.Transports;

/// <summary>
/// Whether one endpoint lets a connection subscribe to a topic: its <see cref="PgNotifyHubEndpointOptions.TopicAuthorizer"/>
/// and its <see cref="PgNotifyHubEndpointOptions.TopicPolicy"/>, both when both are set; no topic at all when neither is.
/// </summary>
internal sealed class TopicAuthorization
{
    private readonly PgNotifyHubTopicAuthorizer? _authorizer;
    private readonly string? _policy;
    private readonly IServiceScopeFactory _scopes;

    private TopicAuthorization(PgNotifyHubTopicAuthorizer? authorizer, string? policy, IServiceScopeFactory scopes)
    {
        _authorizer = authorizer;
        _policy = policy;
        _scopes = scopes;
    }

    /// <summary>Whether clients may choose topics at all.</summary>
    public bool Enabled => _authorizer is not null || _policy is not null;

    /// <exception cref="ArgumentException">The policy name is blank.</exception>
    /// <exception cref="InvalidOperationException">A policy is named, but the application has no authorization services.</exception>
    public static TopicAuthorization Create(PgNotifyHubEndpointOptions endpointOptions, string endpointName, IServiceProvider services)
    {
        var policy = endpointOptions.TopicPolicy;
        if (policy is not null && string.IsNullOrWhiteSpace(policy))
        {
            throw new ArgumentException($"{endpointName}: {nameof(PgNotifyHubEndpointOptions.TopicPolicy)} must name an authorization policy, or be left unset.", nameof(endpointOptions));
        }

        if (policy is not null && services.GetService<IServiceProviderIsService>()?.IsService(typeof(IAuthorizationService)) != true)
        {
            throw new InvalidOperationException(
                $"{endpointName}: {nameof(PgNotifyHubEndpointOptions.TopicPolicy)} names the policy '{policy}', but authorization is not set up: call builder.Services.AddAuthorization(...) and add the policy.");
        }

        return new TopicAuthorization(endpointOptions.TopicAuthorizer, policy, services.GetRequiredService<IServiceScopeFactory>());
    }

    /// <summary>Whether the connection of <paramref name="context"/> may subscribe to <paramref name="topic"/>; throws what the authorization throws.</summary>
    public async ValueTask<bool> AllowsAsync(HttpContext context, PgNotificationTopic topic)
    {
        if (_authorizer is not null && !await _authorizer(context, topic))
        {
            return false;
        }

        if (_policy is null)
        {
            return true;
        }

        // A scope of its own: the request's may be gone (SignalR's long polling), and the application's handlers may be scoped.
        await using var scope = _scopes.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<IAuthorizationService>().AuthorizeAsync(context.User, topic, _policy);
        return result.Succeeded;
    }
}
