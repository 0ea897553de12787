namespace Qat.MLNet.Diagnostics;

/// <summary>Metrics of raw model outputs, shared by the analyzer's metric factories and Qat.MLNet.Testing's assertions.</summary>
internal static class OutputMetrics
{
    /// <summary>Share of samples whose arg-max (several outputs) or positive logit (one output, class 1) is the label.</summary>
    public static double Accuracy(ReadOnlySpan<float> outputs, IReadOnlyList<int> labels, int width)
    {
        int right = 0;
        for (int r = 0; r < labels.Count; r++)
        {
            var row = outputs.Slice(r * width, width);
            int predicted = width == 1 ? (row[0] > 0 ? 1 : 0) : Scoring.MulticlassScoringTask.ArgMax(row);
            if (predicted == labels[r])
                right++;
        }
        return (double)right / labels.Count;
    }
}
