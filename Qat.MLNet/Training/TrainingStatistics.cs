using Qat.MLNet.Inference;

namespace Qat.MLNet.Training;

/// <summary>
/// What the trainer learns about its training rows in the checking pass: per-feature mean and standard deviation (for the
/// feature standardization folded into the int8 model's input step), the labels' mean and deviation (regression trains on
/// the standardized label) and how many rows carry each label value. Sums in double, so millions of rows lose nothing.
/// </summary>
internal sealed class TrainingStatistics
{
    private readonly double[] _sum;
    private readonly double[] _sumOfSquares;
    private double _labelSum;
    private double _labelSumOfSquares;

    private readonly bool _countLabels;

    /// <summary>Creates empty statistics; <paramref name="countLabels"/> counts rows per label value (classification only).</summary>
    public TrainingStatistics(int featureCount, bool countLabels)
    {
        _countLabels = countLabels;
        _sum = new double[featureCount];
        _sumOfSquares = new double[featureCount];
    }

    /// <summary>The largest |feature| seen.</summary>
    public double MaximumMagnitude { get; private set; }

    /// <summary>Rows added.</summary>
    public long RowCount { get; private set; }

    /// <summary>Rows per label value (when counted).</summary>
    public Dictionary<float, long> LabelCounts { get; } = new();

    /// <summary>Adds one row (raw features and label).</summary>
    public void Add(ReadOnlySpan<float> features, float label)
    {
        for (int i = 0; i < features.Length; i++)
        {
            double v = features[i];
            _sum[i] += v;
            _sumOfSquares[i] += v * v;
            MaximumMagnitude = Math.Max(MaximumMagnitude, Math.Abs(v));
        }
        _labelSum += label;
        _labelSumOfSquares += (double)label * label;
        if (_countLabels)
            LabelCounts[label] = LabelCounts.GetValueOrDefault(label) + 1;
        RowCount++;
    }

    /// <summary>Adds every row <paramref name="other"/> has seen.</summary>
    public void Add(TrainingStatistics other)
    {
        for (int i = 0; i < _sum.Length; i++)
        {
            _sum[i] += other._sum[i];
            _sumOfSquares[i] += other._sumOfSquares[i];
        }
        MaximumMagnitude = Math.Max(MaximumMagnitude, other.MaximumMagnitude);
        _labelSum += other._labelSum;
        _labelSumOfSquares += other._labelSumOfSquares;
        foreach (var (value, count) in other.LabelCounts)
            LabelCounts[value] = LabelCounts.GetValueOrDefault(value) + count;
        RowCount += other.RowCount;
    }

    /// <summary>The labels' mean.</summary>
    public double LabelMean => RowCount == 0 ? 0 : _labelSum / RowCount;

    /// <summary>The labels' (population) standard deviation.</summary>
    public double LabelStandardDeviation => Deviation(_labelSum, _labelSumOfSquares);

    /// <summary>The standardization of the features: mean 0, deviation 1 on the training rows (constant features left at scale 1).</summary>
    public FeatureStandardization FeatureStandardization()
    {
        var mean = new double[_sum.Length];
        var deviation = new double[_sum.Length];
        for (int i = 0; i < mean.Length; i++)
        {
            mean[i] = RowCount == 0 ? 0 : _sum[i] / RowCount;
            deviation[i] = Deviation(_sum[i], _sumOfSquares[i]);
        }
        return Inference.FeatureStandardization.FromMoments(mean, deviation);
    }

    private double Deviation(double sum, double sumOfSquares)
    {
        if (RowCount == 0)
            return 0;
        double mean = sum / RowCount;
        double variance = sumOfSquares / RowCount - mean * mean;
        // Below a millionth of the mean's magnitude the difference is rounding noise of a constant column.
        return variance > 1e-12 * Math.Max(1, mean * mean) ? Math.Sqrt(variance) : 0;
    }
}
