using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using PgNotifyHub.Testing;

namespace PgNotifyHub.Tests.Diagnostics;

/// <summary>
/// The meter's instruments follow OpenTelemetry's naming rules for metrics: lowercase dotted names in the library's
/// namespace, singular namespaces, UCUM units, <c>utilization</c> for a fraction, no <c>total</c> or <c>count</c> on a
/// counter; and no two of them collide once exported to Prometheus.
/// </summary>
public sealed partial class InstrumentNamingTests
{
    private static readonly IReadOnlyList<Instrument> Instruments = PrometheusNames.LibraryInstruments();

    [Fact]
    public void Every_instrument_is_named_in_the_library_namespace_with_singular_namespaces()
    {
        Assert.NotEmpty(Instruments);
        Assert.All(Instruments, instrument =>
        {
            Assert.Matches(DottedName(), instrument.Name);
            var namespaces = instrument.Name.Split('.')[..^1];
            Assert.DoesNotContain(namespaces, space => space.EndsWith('s'));
        });
    }

    [Fact]
    public void Every_unit_is_a_UCUM_unit_or_an_annotation()
    {
        Assert.All(Instruments, instrument => Assert.Matches(Unit(), instrument.Unit ?? ""));
    }

    [Fact]
    public void A_fraction_is_a_utilization_of_unit_1_and_a_counter_says_neither_total_nor_count()
    {
        Assert.All(Instruments, instrument =>
        {
            Assert.Equal(instrument.Name.EndsWith(".utilization", StringComparison.Ordinal), instrument.Unit == "1");
            if (instrument.GetType().GetGenericTypeDefinition() == typeof(Counter<>))
            {
                Assert.DoesNotMatch(@"(total|\.count)$", instrument.Name);
            }
        });
    }

    [Fact]
    public void No_two_instruments_share_a_Prometheus_name()
    {
        var names = Instruments.SelectMany(PrometheusNames.Of).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [GeneratedRegex(@"^pgnotifyhub(\.[a-z][a-z0-9_]*)+$")]
    private static partial Regex DottedName();

    [GeneratedRegex(@"^(s|By|1|\{[a-z_]+\})$")]
    private static partial Regex Unit();
}
