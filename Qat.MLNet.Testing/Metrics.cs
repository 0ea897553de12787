namespace Qat.MLNet.Testing;

/// <summary>Accuracy and R² from raw model outputs.</summary>
internal static class Metrics
{
    /// <summary>Share of samples whose arg-max (multiclass) or sign of the logit (one output) is the label.</summary>
    public static double Accuracy(float[] outputs, int[] labels, int width) => Diagnostics.OutputMetrics.Accuracy(outputs, labels, width);

    /// <summary>1 - residual sum of squares / total sum of squares.</summary>
    public static double RSquared(float[] predictions, float[] labels)
    {
        double mean = labels.Average(l => (double)l), residual = 0, total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            residual += Math.Pow(labels[i] - predictions[i], 2);
            total += Math.Pow(labels[i] - mean, 2);
        }
        return total == 0 ? (residual == 0 ? 1 : double.NegativeInfinity) : 1 - residual / total;
    }
}
