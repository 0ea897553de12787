using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Testing;

/// <summary>Compares the columns two scored views add to their input, value by value.</summary>
internal static class ScoredColumns
{
    /// <summary>The first difference, described; null when every added column is identical.</summary>
    public static string? FirstDifference(IDataView before, IDataView after, DataViewSchema input)
    {
        var added = before.Schema.Where(c => !c.IsHidden && input.GetColumnOrNull(c.Name) is null).ToList();
        var names = after.Schema.Where(c => !c.IsHidden && input.GetColumnOrNull(c.Name) is null).Select(c => c.Name).ToList();
        if (!added.Select(c => c.Name).SequenceEqual(names))
            return $"Columns before: {string.Join(", ", added.Select(c => c.Name))}; after reload: {string.Join(", ", names)}";
        foreach (var column in added)
        {
            var other = after.Schema[column.Name];
            if (!column.Type.Equals(other.Type))
                return $"Column '{column.Name}' was {column.Type} and is {other.Type} after reload";
            var first = Values(before, column);
            var second = Values(after, other);
            for (int row = 0; row < Math.Min(first.Count, second.Count); row++)
            {
                if (first[row] != second[row])
                    return $"Column '{column.Name}', row {row}: {first[row]} before, {second[row]} after reload";
            }
            if (first.Count != second.Count)
                return $"Column '{column.Name}': {first.Count} rows before, {second.Count} after reload";
        }
        return null;
    }

    /// <summary>Each row's value as exact text (floats by their bits, so NaN equals NaN and -0 differs from 0).</summary>
    private static List<string> Values(IDataView view, DataViewSchema.Column column)
    {
        var values = new List<string>();
        using var cursor = view.GetRowCursor(new[] { column });
        var read = Reader(cursor, column);
        while (cursor.MoveNext())
            values.Add(read());
        return values;
    }

    private static Func<string> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var item = column.Type is VectorDataViewType vector ? vector.ItemType : column.Type;
        if (column.Type is VectorDataViewType)
        {
            if (item == NumberDataViewType.Single)
            {
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                VBuffer<float> v = default;
                return () => { getter(ref v); return string.Join(" ", v.DenseValues().Select(Bits)); };
            }
            throw new NotSupportedException($"Column '{column.Name}' is {column.Type}: only float vectors and scalars are compared.");
        }
        return item.RawType switch
        {
            var t when t == typeof(float) => Scalar<float>(cursor, column, Bits),
            var t when t == typeof(double) => Scalar<double>(cursor, column, d => BitConverter.DoubleToInt64Bits(d).ToString("X16", System.Globalization.CultureInfo.InvariantCulture)),
            var t when t == typeof(uint) => Scalar<uint>(cursor, column, u => u.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            var t when t == typeof(bool) => Scalar<bool>(cursor, column, b => b ? "true" : "false"),
            var t when t == typeof(ReadOnlyMemory<char>) => Scalar<ReadOnlyMemory<char>>(cursor, column, m => m.ToString()),
            _ => throw new NotSupportedException($"Column '{column.Name}' is {column.Type}: not compared."),
        };
    }

    private static Func<string> Scalar<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, string> text)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () => { getter(ref value); return text(value); };
    }

    private static string Bits(float f) => $"{f.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}[{BitConverter.SingleToInt32Bits(f):X8}]";
}
