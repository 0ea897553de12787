using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>Multiclass classification: a key-typed label with C values, C logits, cross-entropy loss.</summary>
internal sealed class MulticlassTrainingTask : TrainingTask
{
    private readonly MulticlassScoringTask _scoring;

    private MulticlassTrainingTask(MulticlassScoringTask scoring) => _scoring = scoring;

    public override ScoringTask Scoring => _scoring;

    public override bool HasAccuracy => true;

    /// <summary>Checks the label column and takes its class count and names.</summary>
    public static MulticlassTrainingTask FromLabel(DataViewSchema.Column label) => new(MulticlassScoringTask.FromLabel(label));

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
        return nn.functional.cross_entropy(outputs, classes);
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
