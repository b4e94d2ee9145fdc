using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.Testing;

/// <summary>
/// The names OpenTelemetry's Prometheus exporter gives the library's instruments and attributes: dots and other
/// characters outside <c>[a-zA-Z0-9_:]</c> become one underscore; a unit's annotations (<c>{notification}</c>) and
/// <c>1</c> add nothing, <c>s</c> adds <c>_seconds</c> and <c>By</c> <c>_bytes</c>, unless the name already holds it;
/// counters end in <c>_total</c>; histograms are exported as <c>_bucket</c>, <c>_sum</c> and <c>_count</c>; up-down
/// counters and gauges keep their name. The standalone server's scrape is checked against these rules.
/// </summary>
internal static class PrometheusNames
{
    /// <summary>Every instrument of the <c>PgNotifyHub</c> meter, created as a host creates them.</summary>
    public static IReadOnlyList<Instrument> LibraryInstruments()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Meter.Name == PgNotifyHubMetrics.MeterName)
                {
                    instruments.Add(instrument);
                }
            },
        };
        listener.Start();
        _ = new PgNotifyHubMetrics(meters);
        return instruments;
    }

    /// <summary>The Prometheus names of every series of the library's instruments, each with its instrument.</summary>
    public static IReadOnlyDictionary<string, Instrument> OfLibrary() =>
        LibraryInstruments().SelectMany(instrument => Of(instrument).Select(name => (name, instrument))).ToDictionary(pair => pair.name, pair => pair.instrument, StringComparer.Ordinal);

    /// <summary>The names of the series Prometheus gets from <paramref name="instrument"/>.</summary>
    public static IReadOnlyList<string> Of(Instrument instrument)
    {
        var name = Sanitize(instrument.Name);
        var unit = Unit(instrument.Unit);
        if (unit.Length > 0 && !name.Contains(unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        var type = instrument.GetType().GetGenericTypeDefinition();
        if (type == typeof(Counter<>) || type == typeof(ObservableCounter<>))
        {
            return [name.Contains("total", StringComparison.Ordinal) ? name : name + "_total"];
        }

        return type == typeof(Histogram<>) ? [name + "_bucket", name + "_sum", name + "_count"] : [name];
    }

    /// <summary>The metric family a series belongs to: a histogram's series share the name before their suffix.</summary>
    public static string Family(string series, Instrument instrument) =>
        instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>) ? series[..series.LastIndexOf('_')] : series;

    /// <summary>The label an attribute becomes.</summary>
    public static string Label(string attribute) => Sanitize(attribute);

    private static string Sanitize(string name)
    {
        var sanitized = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterOrDigit(c) || c == ':')
            {
                sanitized.Append(c);
            }
            else if (sanitized.Length == 0 || sanitized[^1] != '_')
            {
                sanitized.Append('_');
            }
        }

        return sanitized.ToString();
    }

    private static string Unit(string? unit)
    {
        var withoutAnnotations = unit is null ? "" : System.Text.RegularExpressions.Regex.Replace(unit, @"\{[^}]*\}", "");
        return withoutAnnotations switch
        {
            "" or "1" => "",
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            _ => throw new ArgumentException($"Unit '{unit}' is not one these rules map; add it as the exporter does.", nameof(unit)),
        };
    }
}
