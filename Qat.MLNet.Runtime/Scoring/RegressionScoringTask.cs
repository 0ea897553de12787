using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Onnx;

namespace Qat.MLNet.Scoring;

/// <summary>
/// Regression at scoring time: one output from a Single label. The network predicts the standardized label
/// <c>(label - LabelShift) / LabelScale</c> (the trainer standardizes it, so the fit does not depend on the label's units);
/// the transformer's <c>Score</c> maps it back: <c>Score = output * LabelScale + LabelShift</c>.
/// </summary>
internal sealed class RegressionScoringTask : ScoringTask
{
    /// <summary>The task without a label mapping (models saved before it existed).</summary>
    public static readonly RegressionScoringTask Identity = new(0, 1);

    /// <summary>Creates the task with the label mapping <paramref name="shift"/>, <paramref name="scale"/>.</summary>
    /// <exception cref="ArgumentException">A value is not finite, or the scale is not positive.</exception>
    public RegressionScoringTask(float shift, float scale)
    {
        if (!float.IsFinite(shift) || !(float.IsFinite(scale) && scale > 0))
            throw new ArgumentException($"The label mapping (shift {shift}, scale {scale}) must be finite with a positive scale.");
        LabelShift = shift;
        LabelScale = scale;
    }

    /// <summary>Added to the scaled output: the training labels' mean.</summary>
    public float LabelShift { get; }

    /// <summary>Multiplies the output: the training labels' standard deviation.</summary>
    public float LabelScale { get; }

    /// <summary>The label in the network's units.</summary>
    public float ToNetwork(float label) => (label - LabelShift) / LabelScale;

    /// <summary>A network output in the label's units.</summary>
    public float FromNetwork(float output) => output * LabelScale + LabelShift;

    /// <summary>Reads what <see cref="Save"/> wrote; files written before the mapping existed (<paramref name="hasMapping"/> false) get the identity.</summary>
    public static RegressionScoringTask Load(BinaryReader reader, bool hasMapping)
    {
        if (!hasMapping)
            return Identity;
        float shift = reader.ReadSingle(), scale = reader.ReadSingle();
        try
        {
            return new RegressionScoringTask(shift, scale);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The regression transformer's label mapping is corrupt: {e.Message}");
        }
    }

    public override string Name => "regression";

    public override int OutputCount => 1;

    /// <summary>Checks a label column's type: Single.</summary>
    public static void CheckLabelType(string name, DataViewType type)
    {
        if (type != NumberDataViewType.Single)
            throw LabelMismatch(name, "Single", type,
                "Regression labels must be Single (float): load the column as float, or convert it with mlContext.Transforms.Conversion.ConvertType.");
    }

    /// <summary>Writes the label mapping: shift (f32), scale (f32).</summary>
    public override void Save(BinaryWriter writer)
    {
        writer.Write(LabelShift);
        writer.Write(LabelScale);
    }

    public override void AddOutputColumns(DataViewSchema.Builder builder)
    {
        var score = new DataViewSchema.Annotations.Builder();
        AddScoreKinds(score, AnnotationUtils.Const.ScoreColumnKind.Regression, AnnotationUtils.Const.ScoreValueKind.Score);
        builder.AddColumn(DefaultColumnNames.Score, NumberDataViewType.Single, score.ToAnnotations());
    }

    /// <summary>Checks the label's shape (Single) and returns the output columns as a SchemaShape (the trainer's GetOutputSchema).</summary>
    public static IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label)
    {
        if (label.ItemType != NumberDataViewType.Single || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(label.Name,
                $"Schema mismatch for label column '{label.Name}': expected Single, got {label.GetTypeString()}.");
        return new[] { new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false, ScoreKindsShape()) };
    }

    /// <inheritdoc/>
    public override void WriteOnnx(IOnnxGraph graph, string outputs, IOnnxOutputColumns columns)
    {
        // FromNetwork: output x scale + shift, the same two float steps.
        string scaled = graph.NewName("Mul");
        graph.Node("Mul", [outputs, graph.Constant("label_scale", OnnxTensor.Float(LabelScale))], [scaled]);
        graph.Node("Add", [scaled, graph.Constant("label_shift", OnnxTensor.Float(LabelShift))], [columns.Declare(DefaultColumnNames.Score, NumberDataViewType.Single)]);
    }

    public override Delegate[] CreateGetters(IScoredOutputs scorer)
    {
        ValueGetter<float> score = (ref float dst) => dst = FromNetwork(scorer.Outputs()[0]);
        return new Delegate[] { score };
    }
}
