using YamlDotNet.RepresentationModel;

namespace PgNotifyHub.IntegrationTests.Deployment;

/// <summary>Reads the recipes' YAML (compose, Kubernetes) as plain mappings, sequences and scalars.</summary>
internal static class Yaml
{
    public static YamlMappingNode Load(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    /// <summary>The node at <paramref name="path"/>: keys of mappings, or indices of sequences.</summary>
    public static YamlNode At(this YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                int index => ((YamlSequenceNode)node).Children[index],
                string key => ((YamlMappingNode)node).Children[new YamlScalarNode(key)],
                _ => throw new ArgumentException($"Cannot step by {step}."),
            };
        }

        return node;
    }

    public static YamlNode? Find(this YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var found) ? found : null;

    public static string Text(this YamlNode node, params object[] path) => ((YamlScalarNode)node.At(path)).Value ?? "";

    public static IEnumerable<YamlNode> Items(this YamlNode node, params object[] path) => ((YamlSequenceNode)node.At(path)).Children;

    public static IEnumerable<(string Key, YamlNode Value)> Entries(this YamlNode node, params object[] path) =>
        ((YamlMappingNode)node.At(path)).Children.Select(entry => (((YamlScalarNode)entry.Key).Value ?? "", entry.Value));
}
