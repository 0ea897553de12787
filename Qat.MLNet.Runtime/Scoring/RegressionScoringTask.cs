using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>Regression at scoring time: one output from a Single label. The transformer adds <c>Score</c>.</summary>
internal sealed class RegressionScoringTask : ScoringTask
{
    public static readonly RegressionScoringTask Instance = new();

    private RegressionScoringTask()
    {
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

    public override void Save(BinaryWriter writer)
    {
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

    public override Delegate[] CreateGetters(RowScorer scorer)
    {
        ValueGetter<float> score = (ref float dst) => dst = scorer.Outputs()[0];
        return new Delegate[] { score };
    }
}
