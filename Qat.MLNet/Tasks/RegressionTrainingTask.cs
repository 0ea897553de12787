using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>
/// Regression: a Single label, one output, mean squared error on the standardized label (so the fit does not depend on
/// the label's units: the scoring task maps the output back). Metrics are in the label's units.
/// </summary>
internal sealed class RegressionTrainingTask : TrainingTask
{
    /// <summary>The task before the label statistics are known (the checking pass reads raw labels).</summary>
    public static readonly RegressionTrainingTask Instance = new(RegressionScoringTask.Identity);

    private readonly RegressionScoringTask _scoring;

    private RegressionTrainingTask(RegressionScoringTask scoring) => _scoring = scoring;

    public override ScoringTask Scoring => _scoring;

    /// <summary>Standardizes the label: mean to 0, deviation to 1 (a constant label keeps scale 1).</summary>
    public override TrainingTask WithLabelStatistics(double mean, double standardDeviation)
    {
        float scale = (float)standardDeviation;
        return new RegressionTrainingTask(new RegressionScoringTask((float)mean, scale > 0 && float.IsFinite(scale) ? scale : 1f));
    }

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
            return _scoring.ToNetwork(value);
        };
    }

    public override Tensor Loss(Tensor outputs, Tensor labels)
    {
        using var predictions = outputs.reshape(-1);
        return nn.functional.mse_loss(predictions, labels);
    }

    public override void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums)
    {
        // Both in the network's units; the squared error is reported in the label's.
        double error = ((double)outputs[0] - label) * _scoring.LabelScale;
        sums.LossSum += error * error;
        sums.Count++;
    }

    public override void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName)
    {
        // Any labels, even a constant one, define a regression problem.
    }
}
