using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>
/// Multiclass classification: a key-typed label with C values, C logits, cross-entropy loss, its classes weighted as
/// <see cref="QatClassWeighting"/> says once the training rows' counts are known (<see cref="WithLabelCounts"/>).
/// </summary>
internal sealed class MulticlassTrainingTask : TrainingTask
{
    private readonly MulticlassScoringTask _scoring;

    private readonly QatClassWeighting _weighting;

    /// <summary>Each class's weight in the loss, or null: every row weighs 1.</summary>
    private readonly float[]? _classWeights;

    private MulticlassTrainingTask(MulticlassScoringTask scoring, QatClassWeighting weighting, float[]? classWeights)
    {
        _scoring = scoring;
        _weighting = weighting;
        _classWeights = classWeights;
    }

    public override ScoringTask Scoring => _scoring;

    public override bool HasAccuracy => true;

    /// <summary>Checks the label column and takes its class count and names; the class weights come with the counts.</summary>
    public static MulticlassTrainingTask FromLabel(DataViewSchema.Column label, QatClassWeighting weighting) =>
        new(MulticlassScoringTask.FromLabel(label), weighting, null);

    /// <summary>The weight of each class in the loss (null when every row weighs 1).</summary>
    public IReadOnlyList<float>? ClassWeights => _classWeights;

    public override string LossWeighting => _classWeights is { } w
        ? FormattableString.Invariant($", classes weighted n / (C n_c): {w.Min():G3} to {w.Max():G3}")
        : "";

    /// <summary>
    /// With <see cref="QatClassWeighting.Balanced"/>, weights <c>n / (C n_c)</c> over the C classes that have rows; a class
    /// without training rows never is a label, and keeps weight 1.
    /// </summary>
    public override TrainingTask WithLabelCounts(IReadOnlyDictionary<float, long> labelCounts)
    {
        if (_weighting == QatClassWeighting.None)
            return this;
        double rows = labelCounts.Values.Sum();
        int present = labelCounts.Count(c => c.Value > 0);
        var weights = new float[OutputCount];
        for (int c = 0; c < weights.Length; c++)
            weights[c] = labelCounts.TryGetValue(c, out long n) && n > 0 ? (float)(rows / (present * (double)n)) : 1f;
        return new MulticlassTrainingTask(_scoring, _weighting, weights);
    }

    public override Func<float> CreateLabelReader(DataViewRow row, DataViewSchema.Column label)
    {
        string name = label.Name;
        int classes = OutputCount;
        Func<ulong> read = label.Type.RawType switch
        {
            var t when t == typeof(uint) => Reader<uint>(row, label, v => v),
            var t when t == typeof(byte) => Reader<byte>(row, label, v => v),
            var t when t == typeof(ushort) => Reader<ushort>(row, label, v => v),
            _ => Reader<ulong>(row, label, v => v),
        };
        return () =>
        {
            ulong key = read();
            if (key == 0 || key > (ulong)classes)
                throw new InvalidOperationException(
                    $"Row {row.Position}: label column '{name}' is missing (key 0, a value MapValueToKey did not know) or out of range (key {key} of {classes}). " +
                    "Filter such rows out (e.g. FilterRowsByMissingValues) or build the key mapping from all labels.");
            return key - 1;
        };
    }

    private static Func<ulong> Reader<T>(DataViewRow row, DataViewSchema.Column label, Func<T, ulong> widen)
    {
        var getter = row.GetGetter<T>(label);
        T value = default!;
        return () =>
        {
            getter(ref value);
            return widen(value);
        };
    }

    public override Tensor Loss(Tensor outputs, Tensor labels)
    {
        using var classes = labels.to(ScalarType.Int64);
        if (_classWeights is null)
            return nn.functional.cross_entropy(outputs, classes);
        // The weighted mean (PyTorch divides by the batch's summed weights): the loss's scale does not depend on the batch's classes.
        using var weight = tensor(_classWeights);
        return nn.functional.cross_entropy(outputs, classes, weight);
    }

    public override void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums)
    {
        int best = MulticlassScoringTask.ArgMax(outputs);
        double max = outputs[best], sum = 0;
        for (int i = 0; i < outputs.Length; i++)
            sum += Math.Exp(outputs[i] - max);
        sums.LossSum += max + Math.Log(sum) - outputs[(int)label];
        sums.Correct += best == (int)label ? 1 : 0;
        sums.Count++;
    }

    public override void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName)
    {
        if (labelCounts.Count < 2)
            throw new InvalidOperationException(
                $"The training data has only one class in label column '{labelColumnName}' " +
                $"({_scoring.DescribeClass((int)labelCounts.Keys.FirstOrDefault())}, {labelCounts.Values.FirstOrDefault()} rows): a classifier needs rows of at least two classes.");
    }
}
