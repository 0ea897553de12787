using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Qat.MLNet;

/// <summary>
/// What differs between multiclass classification, binary classification and regression: how the label is checked and
/// read, the loss, the metrics, and the columns the transformer adds. The trainer and the transformer hand these
/// questions to one object so neither needs a switch over tasks.
/// </summary>
internal abstract class QatTask
{
    /// <summary>The task's name in messages, e.g. "multiclass classification".</summary>
    public abstract string Name { get; }

    /// <summary>The network's output count.</summary>
    public abstract int OutputCount { get; }

    /// <summary>Whether accuracy means something (classification).</summary>
    public abstract bool HasAccuracy { get; }

    /// <summary>A reader of the label of the cursor's current row, as the float the loss wants; throws on a missing label.</summary>
    public abstract Func<float> CreateLabelReader(DataViewRow row, DataViewSchema.Column label);

    /// <summary>Mean loss of a batch: <paramref name="outputs"/> [n, OutputCount], <paramref name="labels"/> float [n].</summary>
    public abstract Tensor Loss(Tensor outputs, Tensor labels);

    /// <summary>Adds one row's loss and correctness to <paramref name="sums"/>.</summary>
    public abstract void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums);

    /// <summary>Throws when the training labels cannot teach anything (e.g. one class only); <paramref name="labelCounts"/> counts rows per label value.</summary>
    public abstract void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName);

    /// <summary>Adds the output columns (names, types, annotations) to a schema builder.</summary>
    public abstract void AddOutputColumns(DataViewSchema.Builder builder);

    /// <summary>Getters for the output columns, in the order <see cref="AddOutputColumns"/> added them.</summary>
    public abstract Delegate[] CreateGetters(RowScorer scorer);

    /// <summary>Writes what the task needs to score again (e.g. class count and names).</summary>
    public abstract void Save(BinaryWriter writer);

    /// <summary>"Schema mismatch for label column 'Label': expected X, got Y. hint" as ML.NET phrases it.</summary>
    protected static ArgumentOutOfRangeException LabelMismatch(string labelColumnName, string expected, DataViewType actual, string hint) =>
        new(labelColumnName, $"Schema mismatch for label column '{labelColumnName}': expected {expected}, got {actual}. {hint}");

    /// <summary>Annotations every score column carries.</summary>
    protected static void AddScoreKinds(DataViewSchema.Annotations.Builder builder, string columnKind, string valueKind)
    {
        builder.Add(AnnotationUtils.Kinds.ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> v) => v = columnKind.AsMemory());
        builder.Add(AnnotationUtils.Kinds.ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> v) => v = valueKind.AsMemory());
    }

    /// <summary>The SchemaShape of the ScoreColumnKind/ScoreValueKind annotations.</summary>
    protected static SchemaShape ScoreKindsShape(params SchemaShape.Column[] extra) => new(new[]
    {
        new SchemaShape.Column(AnnotationUtils.Kinds.ScoreColumnKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
        new SchemaShape.Column(AnnotationUtils.Kinds.ScoreValueKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
    }.Concat(extra));

    /// <summary>log(1 + exp(x)) without overflow.</summary>
    protected static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));
}
