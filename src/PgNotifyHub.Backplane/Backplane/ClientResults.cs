using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace PgNotifyHub.Backplane;

/// <summary>
/// Invocations awaiting a client's result: those this node asked for, typed, and those it relays for another node,
/// read as the protocol's raw bytes (<see cref="RawResult"/>) and forwarded unchanged. As the binder of a completion
/// forwarded to this node, it gives the protocol the type the caller awaits.
/// </summary>
internal sealed class ClientResults : IInvocationBinder
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);

    /// <summary>Completes with the client's result; the caller removes it when done waiting.</summary>
    public Task<T> Add<T>(string invocationId, string connectionId)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[invocationId] = new Pending(
            typeof(T),
            connectionId,
            completion =>
            {
                if (completion.Error is { } error)
                {
                    result.TrySetException(new HubException(error));
                }
                else
                {
                    result.TrySetResult(completion.Result is T value ? value : default!);
                }

                return Task.CompletedTask;
            },
            exception =>
            {
                result.TrySetException(exception);
                return Task.CompletedTask;
            });
        return result.Task;
    }

    /// <summary>An invocation of a local connection made by another node: the result goes to <paramref name="forward"/>.</summary>
    public void AddRelayed(string invocationId, string connectionId, Func<CompletionMessage, Task> forward) =>
        _pending[invocationId] = new Pending(
            typeof(RawResult),
            connectionId,
            forward,
            exception => forward(CompletionMessage.WithError(invocationId, exception.Message)));

    public void Remove(string invocationId) => _pending.TryRemove(invocationId, out _);

    public bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type)
    {
        type = _pending.TryGetValue(invocationId, out var pending) ? pending.ResultType : null;
        return type is not null;
    }

    /// <summary>Hands the completion to whoever waits for it; one for an unknown invocation, e.g. one given up on, is ignored.</summary>
    /// <exception cref="InvalidOperationException">The invocation was made on another connection.</exception>
    public Task CompleteAsync(string connectionId, CompletionMessage completion)
    {
        if (!_pending.TryGetValue(completion.InvocationId!, out var pending))
        {
            return Task.CompletedTask;
        }

        if (pending.ConnectionId != connectionId)
        {
            throw new InvalidOperationException($"Connection ID '{connectionId}' is not valid for invocation ID '{completion.InvocationId}'.");
        }

        return _pending.TryRemove(completion.InvocationId!, out _) ? pending.Complete(completion) : Task.CompletedTask;
    }

    /// <summary>Fails every invocation waiting on <paramref name="connectionId"/>, which has disconnected.</summary>
    public Task FailConnectionAsync(string connectionId)
    {
        var failures = new List<Task>();
        foreach (var (invocationId, pending) in _pending)
        {
            if (pending.ConnectionId == connectionId && _pending.TryRemove(invocationId, out _))
            {
                failures.Add(pending.Fail(new IOException($"Connection '{connectionId}' disconnected.")));
            }
        }

        return Task.WhenAll(failures);
    }

    public Type GetReturnType(string invocationId) =>
        TryGetReturnType(invocationId, out var type) ? type : throw new InvalidOperationException($"No pending invocation with the ID '{invocationId}'.");

    // Only completions are parsed with this binder.
    public IReadOnlyList<Type> GetParameterTypes(string methodName) => throw new NotSupportedException();

    public Type GetStreamItemType(string streamId) => throw new NotSupportedException();

    private sealed record Pending(Type ResultType, string ConnectionId, Func<CompletionMessage, Task> Complete, Func<Exception, Task> Fail);
}
