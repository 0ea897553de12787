using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>Binary classification: a Boolean label, one logit, log-loss (<c>binary_cross_entropy_with_logits</c>).</summary>
internal sealed class BinaryTrainingTask : TrainingTask
{
    public static readonly BinaryTrainingTask Instance = new();

    private BinaryTrainingTask()
    {
    }

    public override ScoringTask Scoring => BinaryScoringTask.Instance;

    public override bool HasAccuracy => true;

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
}
