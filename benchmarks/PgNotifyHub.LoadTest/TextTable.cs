namespace PgNotifyHub.LoadTest;

/// <summary>A plain-text table: the first column left-aligned, the others right-aligned (they are numbers).</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Write(TextWriter writer)
    {
        var widths = headers.Select((header, column) => _rows.Select(row => column < row.Length ? row[column].Length : 0).Prepend(header.Length).Max()).ToArray();
        WriteRow(writer, headers, widths);
        writer.WriteLine(string.Join("  ", widths.Select(width => new string('-', width))));
        foreach (var row in _rows)
        {
            WriteRow(writer, row, widths);
        }
    }

    private static void WriteRow(TextWriter writer, string[] cells, int[] widths)
    {
        var padded = widths.Select((width, column) =>
        {
            var cell = column < cells.Length ? cells[column] : "";
            return column == 0 ? cell.PadRight(width) : cell.PadLeft(width);
        });
        writer.WriteLine(string.Join("  ", padded).TrimEnd());
    }
}
