using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>Regression: a Single label, one output, mean squared error.</summary>
internal sealed class RegressionTrainingTask : TrainingTask
{
    public static readonly RegressionTrainingTask Instance = new();

    private RegressionTrainingTask()
    {
    }

    public override ScoringTask Scoring => RegressionScoringTask.Instance;

    public override bool HasAccuracy => false;

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
}
