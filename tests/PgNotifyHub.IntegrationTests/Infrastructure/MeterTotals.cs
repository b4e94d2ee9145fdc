using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// Reads a host's <c>PgNotifyHub</c> meter the way an exporter does: counters summed by instrument and by their
/// <c>pgnotifyhub.transport</c> and reason (<c>error.type</c> or <c>pgnotifyhub.resync.reason</c>) attributes, observable instruments collected on demand, histograms kept whole.
/// </summary>
public sealed class MeterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _observed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _recorded = new(StringComparer.Ordinal);

    public MeterTotals(IMeterFactory hostMeters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == hostMeters && instrument.Meter.Name == "PgNotifyHub")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = Key(instrument.Name, Tag(tags, PgNotifyHubMetrics.TransportAttribute), Reason(tags));
            if (instrument.IsObservable)
            {
                _observed[key] = value;
            }
            else
            {
                _totals.AddOrUpdate(key, value, (_, total) => total + value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.IsObservable)
            {
                _observed[Key(instrument.Name, Tag(tags, PgNotifyHubMetrics.TransportAttribute), "")] = value;
            }
            else
            {
                _recorded.GetOrAdd(instrument.Name, _ => new()).Enqueue(value);
            }
        });
        _listener.Start();
    }

    public long this[string instrument, string transport = "", string reason = ""] => _totals.GetValueOrDefault(Key(instrument, transport, reason));

    /// <summary>Collects the observable instruments now; the last value of <paramref name="instrument"/>, if it reported one.</summary>
    public double? Observe(string instrument, string transport = "")
    {
        var key = Key(instrument, transport, "");
        _observed.TryRemove(key, out _);
        _listener.RecordObservableInstruments();
        return _observed.TryGetValue(key, out var value) ? value : null;
    }

    /// <summary>Every value a histogram recorded, in order.</summary>
    public IReadOnlyList<double> Recorded(string instrument) => [.. _recorded.GetValueOrDefault(instrument) ?? []];

    public void Dispose() => _listener.Dispose();

    private static string Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return (string?)tag.Value ?? "";
            }
        }

        return "";
    }

    // A reason is an error.type, or a resync's own reason.
    private static string Reason(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Tag(tags, PgNotifyHubMetrics.ErrorTypeAttribute) is { Length: > 0 } error ? error : Tag(tags, PgNotifyHubMetrics.ResyncReasonAttribute);

    private static string Key(string instrument, string transport, string reason) => instrument + "|" + transport + "|" + reason;
}
