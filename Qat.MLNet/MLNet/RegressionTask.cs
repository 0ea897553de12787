using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet;

/// <summary>Regression: a Single label, one output, mean squared error. The transformer adds <c>Score</c>.</summary>
internal sealed class RegressionTask : QatTask
{
    public static readonly RegressionTask Instance = new();

    private RegressionTask()
    {
    }

    public override string Name => "regression";

    public override int OutputCount => 1;

    public override bool HasAccuracy => false;

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

    public override Func<float> CreateLabelReader(DataViewRow row, DataViewSchema.Column label)
    {
        var getter = row.GetGetter<float>(label);
        string name = label.Name;
        float value = 0;
        return () =>
        {
            getter(ref value);
            if (!float.IsFinite(value))
                throw new InvalidOperationException(
                    $"Row {row.Position}: label column '{name}' is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}. Regression labels must be finite: filter such rows out (FilterRowsByMissingValues) first.");
            return value;
        };
    }

    public override Tensor Loss(Tensor outputs, Tensor labels)
    {
        using var predictions = outputs.reshape(-1);
        return nn.functional.mse_loss(predictions, labels);
    }

    public override void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums)
    {
        double error = outputs[0] - (double)label;
        sums.LossSum += error * error;
        sums.Count++;
    }

    public override void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName)
    {
        // Any labels, even a constant one, define a regression problem.
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
