namespace Qat.MLNet.Experiments;

/// <summary>
/// Which trial an experiment returns as best. Plainly the completed trial with the best mean metric; but when the trainer's
/// defaults ran as a trial (<see cref="QatExperiment.SetDefaultsFirst"/>) and a margin is set, a tuner's trial replaces
/// them only if it beats them by more than the spread of its gains: the mean of its per-split gains over the defaults
/// (paired by split, so the splits' own difficulty cancels) must exceed <c>margin</c> standard errors of those gains.
/// </summary>
/// <remarks>
/// Why: the best of many trials on a few small folds is partly the luckiest one (the winner's curse). On the tabular
/// benchmark the plain rule picked trials whose cross-validation beat the defaults and whose test rows did not; a gain
/// within the noise of the folds is not worth trading the defaults for. One split gives no spread, so there the plain
/// rule holds.
/// </remarks>
internal static class TrialSelection
{
    /// <summary>The best trial of <paramref name="trials"/> under the rule above; null when no trial completed.</summary>
    /// <param name="trials">The experiment's trials, in order.</param>
    /// <param name="higherIsBetter">The metric's direction.</param>
    /// <param name="margin">Standard errors a trial must beat the defaults by; 0 for the plain best mean.</param>
    public static QatTrialResult? Best(IReadOnlyList<QatTrialResult> trials, bool higherIsBetter, double margin)
    {
        var valid = trials.Where(t => t.Status == QatTrialStatus.Completed && !double.IsNaN(t.Metric)).ToList();
        if (valid.Count == 0)
            return null;
        var defaults = margin > 0 ? valid.FirstOrDefault(t => t.IsDefaults) : null;
        var eligible = defaults is null ? valid : valid.Where(t => t == defaults || BeatsClearly(t, defaults, higherIsBetter, margin)).ToList();
        return higherIsBetter ? eligible.MaxBy(t => t.Metric) : eligible.MinBy(t => t.Metric);
    }

    /// <summary>
    /// Whether <paramref name="trial"/> beats <paramref name="defaults"/> by more than <paramref name="margin"/> standard
    /// errors of its per-split gains. Without per-split metrics for both, or with a single split, the plain comparison.
    /// </summary>
    public static bool BeatsClearly(QatTrialResult trial, QatTrialResult defaults, bool higherIsBetter, double margin)
    {
        var (gain, standardError) = Gain(trial, defaults, higherIsBetter);
        return gain > margin * standardError;
    }

    /// <summary>
    /// The mean per-split gain of <paramref name="trial"/> over <paramref name="reference"/> (positive = better) and its
    /// standard error (sample deviation over the square root of the count; 0 with fewer than two paired splits, where the
    /// gain is the difference of the means).
    /// </summary>
    public static (double Gain, double StandardError) Gain(QatTrialResult trial, QatTrialResult reference, bool higherIsBetter)
    {
        double sign = higherIsBetter ? 1 : -1;
        var a = trial.FoldMetrics;
        var b = reference.FoldMetrics;
        if (a.Count < 2 || a.Count != b.Count)
            return (sign * (trial.Metric - reference.Metric), 0);
        var gains = a.Zip(b, (x, y) => sign * (x - y)).ToArray();
        double mean = gains.Average();
        double variance = gains.Sum(g => (g - mean) * (g - mean)) / (gains.Length - 1);
        return (mean, Math.Sqrt(variance / gains.Length));
    }
}
