using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet;

/// <summary>
/// Binary classification: a Boolean label, one logit, log-loss (<c>binary_cross_entropy_with_logits</c>). The transformer
/// adds <c>Score</c> (the logit), <c>Probability</c> (its sigmoid) and <c>PredictedLabel</c> (logit &gt; 0), as ML.NET's
/// binary trainers do.
/// </summary>
internal sealed class BinaryTask : QatTask
{
    public static readonly BinaryTask Instance = new();

    private BinaryTask()
    {
    }

    public override string Name => "binary classification";

    public override int OutputCount => 1;

    public override bool HasAccuracy => true;

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

    public override Func<float> CreateLabelReader(DataViewRow row, DataViewSchema.Column label)
    {
        var getter = row.GetGetter<bool>(label);
        bool value = false;
        return () =>
        {
            getter(ref value);
            return value ? 1f : 0f;
        };
    }

    public override Tensor Loss(Tensor outputs, Tensor labels)
    {
        using var logits = outputs.reshape(-1);
        return nn.functional.binary_cross_entropy_with_logits(logits, labels);
    }

    public override void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums)
    {
        double logit = outputs[0];
        // -log(sigmoid(x)) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x).
        sums.LossSum += label > 0 ? Softplus(-logit) : Softplus(logit);
        sums.Correct += (logit > 0) == (label > 0) ? 1 : 0;
        sums.Count++;
    }

    public override void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName)
    {
        if (labelCounts.Count < 2)
            throw new InvalidOperationException(
                $"Every training row has label column '{labelColumnName}' = {(labelCounts.Keys.FirstOrDefault() > 0 ? "true" : "false")}: " +
                "a binary classifier needs rows of both classes.");
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

    public override Delegate[] CreateGetters(RowScorer scorer)
    {
        ValueGetter<float> score = (ref float dst) => dst = scorer.Outputs()[0];
        ValueGetter<float> probability = (ref float dst) => dst = 1 / (1 + MathF.Exp(-scorer.Outputs()[0]));
        ValueGetter<bool> predicted = (ref bool dst) => dst = scorer.Outputs()[0] > 0;
        return new Delegate[] { score, probability, predicted };
    }
}
