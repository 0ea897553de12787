using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>Binary classification: a Boolean label, one logit, log-loss (<c>binary_cross_entropy_with_logits</c>).</summary>
internal sealed class BinaryTrainingTask : TrainingTask
{
    private readonly float _positiveWeight;

    /// <summary>Creates the task; <paramref name="positiveWeight"/> multiplies the loss of positive rows (PyTorch's <c>pos_weight</c>).</summary>
    public BinaryTrainingTask(float positiveWeight = 1f) => _positiveWeight = positiveWeight;

    public override ScoringTask Scoring => BinaryScoringTask.Instance;

    public override string LossWeighting => _positiveWeight == 1f ? "" : FormattableString.Invariant($", positive rows weighted {_positiveWeight:G3}");

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
        if (_positiveWeight == 1f)
            return nn.functional.binary_cross_entropy_with_logits(logits, labels);
        using var weight = tensor(new[] { _positiveWeight });
        return nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weights: weight);
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
