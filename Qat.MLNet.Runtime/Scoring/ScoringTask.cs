using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Onnx;

namespace Qat.MLNet.Scoring;

/// <summary>
/// What differs between multiclass classification, binary classification and regression at scoring time: the output
/// count, the columns the transformer adds and how they are computed from the network's outputs, and what the model file
/// keeps of the task. Training adds its own half (label reading, loss, metrics) in <c>Qat.MLNet.Tasks</c>.
/// </summary>
internal abstract class ScoringTask
{
    /// <summary>The task's name in messages, e.g. "multiclass classification".</summary>
    public abstract string Name { get; }

    /// <summary>The network's output count.</summary>
    public abstract int OutputCount { get; }

    /// <summary>Adds the output columns (names, types, annotations) to a schema builder.</summary>
    public abstract void AddOutputColumns(DataViewSchema.Builder builder);

    /// <summary>Getters for the output columns, in the order <see cref="AddOutputColumns"/> added them.</summary>
    public abstract Delegate[] CreateGetters(IScoredOutputs scorer);

    /// <summary>Writes what the task needs to score again (e.g. class count and names).</summary>
    public abstract void Save(BinaryWriter writer);

    /// <summary>
    /// Writes this task's output columns into an ONNX graph from the model's float outputs (<paramref name="outputs"/>,
    /// [N, <see cref="OutputCount"/>]), computing what <see cref="CreateGetters"/> computes.
    /// </summary>
    public abstract void WriteOnnx(IOnnxGraph graph, string outputs, IOnnxOutputColumns columns);

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
}
