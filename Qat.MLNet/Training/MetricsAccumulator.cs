using Qat.MLNet.Reports;

namespace Qat.MLNet.Training;

/// <summary>Sums that become <see cref="QatMetrics"/>.</summary>
internal struct MetricsAccumulator
{
    public long Count;
    public double LossSum;
    public long Correct;

    public readonly QatMetrics ToMetrics(bool hasAccuracy) =>
        new(Count == 0 ? double.NaN : LossSum / Count, hasAccuracy ? (Count == 0 ? double.NaN : (double)Correct / Count) : null, Count);
}
