using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace PgNotifyHub.Server.Settings;

/// <summary>One key of the server's configuration, found by reflection on the type bound to it: a value, a list or a section.</summary>
internal sealed class Setting
{
    /// <summary>The full key, e.g. <c>PgNotifyHub:Outbox:Enabled</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The last part of <see cref="Path"/>.</summary>
    public required string Name { get; init; }

    /// <summary>The type bound to it: of the property, or of the section.</summary>
    public required Type Type { get; init; }

    /// <summary>The property it is bound to; null for a section at the root.</summary>
    public PropertyInfo? Property { get; init; }

    /// <summary>The value the type gives it when nothing is configured.</summary>
    public object? Default { get; init; }

    /// <summary>The keys of a section; empty for a value or a list.</summary>
    public IReadOnlyList<Setting> Children { get; init; } = [];

    /// <summary>For a section: whether keys the server does not know stop it.</summary>
    public bool RefusesUnknownKeys { get; init; }

    /// <summary>Why it may not be set in this server's configuration, when it may not; null when it may.</summary>
    public string? NotConfigurable { get; init; }

    public bool IsSection => Children.Count > 0;

    /// <summary>A list of values, configured as <c>Key:0</c>, <c>Key:1</c>…</summary>
    public bool IsList => Type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(Type);

    /// <summary>The type of each item of a list.</summary>
    public Type ItemType
    {
        [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = SettingsSchema.SettingsTypesAreRooted)]
        get => Type.IsArray
        ? Type.GetElementType()!
        : Type.GetInterfaces().Append(Type).FirstOrDefault(type => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0]
            ?? typeof(string);
    }

    /// <summary>Every value and list under this one, depth first; itself when it is one.</summary>
    public IEnumerable<Setting> Leaves() => IsSection ? Children.SelectMany(child => child.Leaves()) : [this];
}
