using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PgNotifyHub.Server.Settings;

/// <summary>
/// The summaries of a library's XML documentation file, shipped next to the server (<c>PgNotifyHub.xml</c>), as plain
/// text: the options' own documentation is what <c>--help</c> says of them, so the two cannot disagree.
/// </summary>
internal sealed partial class XmlDocumentation
{
    private readonly Dictionary<string, string> _summaries;

    private XmlDocumentation(Dictionary<string, string> summaries) => _summaries = summaries;

    /// <summary>The documentation of <paramref name="assembly"/> from the server's directory; empty when it is not there.</summary>
    public static XmlDocumentation Of(Assembly assembly)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assembly.GetName().Name + ".xml");
        if (!File.Exists(path))
        {
            return new([]);
        }

        var summaries = XDocument.Load(path).Descendants("member")
            .Select(member => (Name: member.Attribute("name")?.Value, Summary: member.Element("summary")))
            .Where(member => member.Name is not null && member.Summary is not null)
            .ToDictionary(member => member.Name!, member => Whitespace().Replace(Text(member.Summary!), " ").Trim());
        return new(summaries);
    }

    /// <summary>The first sentence of the property's summary; null when it has none.</summary>
    public string? FirstSentence(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}") is { } summary ? FirstSentence(summary) : null;

    private static string FirstSentence(string text)
    {
        for (var end = text.IndexOf(". ", StringComparison.Ordinal); end >= 0; end = text.IndexOf(". ", end + 1, StringComparison.Ordinal))
        {
            // "e.g. <c>x</c>" and "i.e. …" go on.
            if (!text[..(end + 1)].EndsWith("e.g.", StringComparison.Ordinal) && !text[..(end + 1)].EndsWith("i.e.", StringComparison.Ordinal))
            {
                return text[..(end + 1)];
            }
        }

        return text;
    }

    // <c>x</c> as x, <see cref="P:A.B.C"/> as C, <see langword="null"/> as null.
    private static string Text(XElement element) => string.Concat(element.Nodes().Select(node => node switch
    {
        XText text => text.Value,
        XElement { Name.LocalName: "see" or "seealso" } see when see.Attribute("langword") is { } word => word.Value,
        XElement { Name.LocalName: "see" or "seealso" } see when see.Attribute("cref") is { } cref && see.IsEmpty => ShortName(cref.Value),
        XElement { Name.LocalName: "paramref" or "typeparamref" } reference => reference.Attribute("name")?.Value ?? "",
        XElement { Name.LocalName: "para" } paragraph => " " + Text(paragraph) + " ",
        XElement other => Text(other),
        _ => "",
    }));

    private static string ShortName(string cref)
    {
        var name = cref.Split('(')[0];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
