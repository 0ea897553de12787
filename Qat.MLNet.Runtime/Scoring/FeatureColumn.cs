using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>Checks and reads the feature column: a known-size vector of Single whose values are all finite.</summary>
internal static class FeatureColumn
{
    /// <summary>The column named <paramref name="name"/> in <paramref name="schema"/>, checked to be Vector&lt;Single, size&gt;.</summary>
    /// <param name="schema">The schema to search.</param>
    /// <param name="name">The feature column name.</param>
    /// <param name="expectedSize">The size the model was trained for, or null at training time (any known size).</param>
    /// <exception cref="ArgumentOutOfRangeException">Missing column, wrong type, unknown or wrong size, as ML.NET's schema mismatch.</exception>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name, int? expectedSize)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(name, $"Feature column '{name}' not found. The data has: {ListColumns(schema)}.");
        CheckType(name, column.Type, expectedSize);
        return column;
    }

    /// <summary>The visible columns as "Name (Type)", for messages about a missing column.</summary>
    public static string ListColumns(DataViewSchema schema) => string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({c.Type})"));

    /// <summary>Checks a feature column's type (see <see cref="Find"/>).</summary>
    public static void CheckType(string name, DataViewType type, int? expectedSize)
    {
        if (type is not VectorDataViewType { ItemType: var item } vector || item != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for feature column '{name}': expected Vector<Single>, got {type}. " +
                "Put the features in one float vector, e.g. mlContext.Transforms.Concatenate(\"Features\", ...) and ConvertType to Single.");
        if (!vector.IsKnownSize)
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for feature column '{name}': expected a vector of known size, got {type} (variable size). " +
                "Give the column a fixed size (e.g. [VectorType(n)] on the input class, or a transform that produces a known size).");
        if (expectedSize is { } size && vector.Size != size)
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for feature column '{name}': the model was trained on Vector<Single, {size}>, got {type}.");
    }

    /// <summary>The message for a non-finite feature value.</summary>
    /// <summary>
    /// One row's feature vector, checked: the right size (else throws, naming the row) and every value finite (else the
    /// policy reports it). Returns the values: the vector's own when dense, else densified into <paramref name="dense"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The vector has another size, or the policy throws on a non-finite value.</exception>
    public static ReadOnlySpan<float> CheckedValues(in VBuffer<float> buffer, Span<float> dense, string column, long row, NonFiniteFeatures policy, out bool finite)
    {
        if (buffer.Length != dense.Length)
            throw new InvalidOperationException($"Row {row}: feature column '{column}' has {buffer.Length} values; the model expects {dense.Length}.");
        ReadOnlySpan<float> values = dense;
        if (buffer.IsDense)
            values = buffer.GetValues();
        else
            buffer.CopyTo(dense);
        int bad = Inference.Kernels.NonFinite.IndexOf(values);
        finite = bad < 0;
        if (!finite)
            policy.Report(column, row, bad, values[bad]);
        return values;
    }

    public static InvalidOperationException NonFinite(string column, long row, int slot, float value, string? what = null) =>
        new($"Row {row}{(what is null ? "" : " of the " + what)}: feature column '{column}' has {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} in slot {slot}. Features must be finite numbers: " +
            "replace missing values first (mlContext.Transforms.ReplaceMissingValues) or filter the rows out (FilterRowsByMissingValues).");
}
