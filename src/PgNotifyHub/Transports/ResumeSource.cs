using Microsoft.Extensions.Primitives;

namespace PgNotifyHub.Transports;

/// <summary>
/// A resume position as a request gave it: where, named for refusals (<c>The resume parameter</c>,
/// <c>Last-Event-ID</c>), and the values found there.
/// </summary>
internal readonly record struct ResumeSource(string Name, StringValues Values);
