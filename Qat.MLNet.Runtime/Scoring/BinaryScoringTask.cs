using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Onnx;

namespace Qat.MLNet.Scoring;

/// <summary>
/// Binary classification at scoring time: one logit from a Boolean label. The transformer
/// adds <c>Score</c> (the logit), <c>Probability</c> (its sigmoid) and <c>PredictedLabel</c> (logit &gt; 0), as ML.NET's
/// binary trainers do.
/// </summary>
internal sealed class BinaryScoringTask : ScoringTask
{
    public static readonly BinaryScoringTask Instance = new();

    private BinaryScoringTask()
    {
    }

    public override string Name => "binary classification";

    public override int OutputCount => 1;

    /// <summary>Checks a label column's type: Boolean.</summary>
    public static void CheckLabelType(string name, DataViewType type)
    {
        if (type is not BooleanDataViewType)
            throw LabelMismatch(name, "Boolean", type,
                "Binary labels must be Boolean: load the column as bool, or convert it (e.g. a CustomMapping or Expression 'x > 0').");
    }

    public override void Save(BinaryWriter writer)
    {
    }

    public override void AddOutputColumns(DataViewSchema.Builder builder)
    {
        var score = new DataViewSchema.Annotations.Builder();
        AddScoreKinds(score, AnnotationUtils.Const.ScoreColumnKind.BinaryClassification, AnnotationUtils.Const.ScoreValueKind.Score);
        builder.AddColumn(DefaultColumnNames.Score, NumberDataViewType.Single, score.ToAnnotations());

        var probability = new DataViewSchema.Annotations.Builder();
        AddScoreKinds(probability, AnnotationUtils.Const.ScoreColumnKind.BinaryClassification, AnnotationUtils.Const.ScoreValueKind.Probability);
        probability.Add(AnnotationUtils.Kinds.IsNormalized, BooleanDataViewType.Instance, (ref bool v) => v = true);
        builder.AddColumn(DefaultColumnNames.Probability, NumberDataViewType.Single, probability.ToAnnotations());

        var predicted = new DataViewSchema.Annotations.Builder();
        AddScoreKinds(predicted, AnnotationUtils.Const.ScoreColumnKind.BinaryClassification, AnnotationUtils.Const.ScoreValueKind.PredictedLabel);
        builder.AddColumn(DefaultColumnNames.PredictedLabel, BooleanDataViewType.Instance, predicted.ToAnnotations());
    }

    /// <summary>Checks the label's shape (Boolean) and returns the output columns as a SchemaShape (the trainer's GetOutputSchema).</summary>
    public static IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label)
    {
        if (label.ItemType != BooleanDataViewType.Instance || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(label.Name,
                $"Schema mismatch for label column '{label.Name}': expected Boolean, got {label.GetTypeString()}.");
        return OutputColumns();
    }

    private static IEnumerable<SchemaShape.Column> OutputColumns()
    {
        yield return new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false, ScoreKindsShape());
        yield return new SchemaShape.Column(DefaultColumnNames.Probability, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false,
            ScoreKindsShape(new SchemaShape.Column(AnnotationUtils.Kinds.IsNormalized, SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false)));
        yield return new SchemaShape.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false, ScoreKindsShape());
    }

    /// <inheritdoc/>
    public override void WriteOnnx(IOnnxGraph graph, string outputs, IOnnxOutputColumns columns)
    {
        graph.Node("Identity", [outputs], [columns.Declare(DefaultColumnNames.Score, NumberDataViewType.Single)]);
        graph.Node("Sigmoid", [outputs], [columns.Declare(DefaultColumnNames.Probability, NumberDataViewType.Single)]);
        string zero = graph.Constant("zero", OnnxTensor.Float(0f));
        graph.Node("Greater", [outputs, zero], [columns.Declare(DefaultColumnNames.PredictedLabel, BooleanDataViewType.Instance)]);
    }

    public override Delegate[] CreateGetters(IScoredOutputs scorer)
    {
        ValueGetter<float> score = (ref float dst) => dst = scorer.Outputs()[0];
        ValueGetter<float> probability = (ref float dst) => dst = 1 / (1 + MathF.Exp(-scorer.Outputs()[0]));
        ValueGetter<bool> predicted = (ref bool dst) => dst = scorer.Outputs()[0] > 0;
        return new Delegate[] { score, probability, predicted };
    }
}
