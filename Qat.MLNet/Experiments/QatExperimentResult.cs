using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qat.MLNet.Experiments;

/// <summary>What an experiment found: the best trial, every trial, and the Pareto front of metric, size and latency.</summary>
public sealed class QatExperimentResult
{
    internal QatExperimentResult(string metricName, bool higherIsBetter, IReadOnlyList<QatTrialResult> trials, bool cancelled, double defaultsMargin = 0)
    {
        MetricName = metricName;
        HigherIsBetter = higherIsBetter;
        Trials = trials;
        Cancelled = cancelled;
        DefaultsMargin = defaultsMargin;
        var valid = trials.Where(t => t.Status == QatTrialStatus.Completed && !double.IsNaN(t.Metric)).ToList();
        BestTrial = TrialSelection.Best(trials, higherIsBetter, defaultsMargin);
        ParetoFront = valid.Where(t => !valid.Any(o => Dominates(o, t))).OrderBy(t => t.ModelBytes).ToList();
    }

    /// <summary>The metric optimized.</summary>
    public string MetricName { get; }

    /// <summary>Whether a higher metric is better.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>
    /// The best trial that met every constraint; null when none did (all failed, broke a constraint, or were cancelled).
    /// The best mean metric, except that with the defaults run first (<see cref="QatExperiment.SetDefaultsFirst"/>) they
    /// stay best unless a trial beats them by more than <see cref="DefaultsMargin"/> standard errors of its per-split gains.
    /// </summary>
    public QatTrialResult? BestTrial { get; }

    /// <summary>Standard errors of its per-split gains a trial had to beat the defaults trial by to be best; 0 when the best mean won.</summary>
    public double DefaultsMargin { get; }

    /// <summary>
    /// The best trial's mean per-split gain over the defaults trial (positive = better) and its standard error; null
    /// without a completed defaults trial.
    /// </summary>
    public (double Gain, double StandardError)? GainOverDefaults =>
        BestTrial is { } best && Trials.FirstOrDefault(t => t.IsDefaults && t.Status == QatTrialStatus.Completed) is { } defaults
            ? TrialSelection.Gain(best, defaults, HigherIsBetter)
            : null;

    /// <summary>Every trial, in order.</summary>
    public IReadOnlyList<QatTrialResult> Trials { get; }

    /// <summary>The completed trials no other completed trial beats on metric, model size and latency at once.</summary>
    public IReadOnlyList<QatTrialResult> ParetoFront { get; }

    /// <summary>Whether the run was cancelled (or ran out of time) before it ended by itself.</summary>
    public bool Cancelled { get; }

    private bool Dominates(QatTrialResult a, QatTrialResult b)
    {
        bool metricAtLeast = HigherIsBetter ? a.Metric >= b.Metric : a.Metric <= b.Metric;
        bool metricBetter = HigherIsBetter ? a.Metric > b.Metric : a.Metric < b.Metric;
        return metricAtLeast && a.ModelBytes <= b.ModelBytes && a.LatencyMicroseconds <= b.LatencyMicroseconds
            && (metricBetter || a.ModelBytes < b.ModelBytes || a.LatencyMicroseconds < b.LatencyMicroseconds);
    }

    /// <summary>The table of trials as Markdown, the best marked, then the Pareto front.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| trial | status | {MetricName} | int8 drop | model bytes | latency (us) | seconds | rung | settings |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var t in Trials)
        {
            string status = t == BestTrial ? "**best**" : t.Status.ToString() + (t.Violations.Count > 0 ? ": " + string.Join("; ", t.Violations) : t.Error is null ? "" : ": " + t.Error);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {t.Id} | {status.Replace("|", "/", StringComparison.Ordinal)} | {t.Metric:F4} | {t.MetricDrop:F4} | {t.ModelBytes} | {t.LatencyMicroseconds:F1} | {t.Seconds:F1} | {t.Rung} | `{t.Settings}` |");
        }
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Pareto front ({MetricName}, model bytes, latency): trials {string.Join(", ", ParetoFront.Select(t => t.Id))}");
        if (GainOverDefaults is { } g && BestTrial is { } best)
            text.AppendLine().AppendLine(best.IsDefaults
                ? FormattableString.Invariant($"Best: the trainer's defaults (trial {best.Id}); no trial beat them by more than {DefaultsMargin:G3} standard errors of its per-split gains.")
                : FormattableString.Invariant($"Best: trial {best.Id}, {g.Gain:+0.0000;-0.0000} {MetricName} over the defaults per split (standard error {g.StandardError:F4})."));
        return text.ToString();
    }

    /// <summary>The table of trials as CSV (invariant culture, one header line).</summary>
    public string ToCsv()
    {
        var text = new StringBuilder("id,status,metric,metric_drop,model_bytes,latency_us,seconds,rung,backend,learning_rate,float_epochs,qat_epochs,freeze_observers,freeze_bn,batch_size,hidden_sizes,weight_decay,violations,error,defaults,fold_metrics,float_steps,qat_steps,piecewise_linear_bins\n");
        foreach (var t in Trials)
        {
            var s = t.Settings;
            text.AppendLine(string.Join(",", new[]
            {
                t.Id.ToString(CultureInfo.InvariantCulture), t.Status.ToString(), t.Metric.ToString("R", CultureInfo.InvariantCulture), t.MetricDrop.ToString("R", CultureInfo.InvariantCulture),
                t.ModelBytes.ToString(CultureInfo.InvariantCulture), t.LatencyMicroseconds.ToString("R", CultureInfo.InvariantCulture), t.Seconds.ToString("F2", CultureInfo.InvariantCulture),
                t.Rung.ToString(CultureInfo.InvariantCulture), s.Backend.ToString(), s.LearningRate.ToString("R", CultureInfo.InvariantCulture),
                s.FloatEpochs?.ToString(CultureInfo.InvariantCulture) ?? "", s.QatEpochs?.ToString(CultureInfo.InvariantCulture) ?? "", s.FreezeObserversAfterEpoch.ToString(CultureInfo.InvariantCulture),
                s.FreezeBatchNormAfterEpoch.ToString(CultureInfo.InvariantCulture), s.BatchSize.ToString(CultureInfo.InvariantCulture), string.Join("x", s.HiddenSizes),
                s.WeightDecay.ToString("R", CultureInfo.InvariantCulture), Quote(string.Join("; ", t.Violations)), Quote(t.Error ?? ""),
                t.IsDefaults ? "true" : "false", string.Join(";", t.FoldMetrics.Select(m => m.ToString("R", CultureInfo.InvariantCulture))),
                s.FloatOptimizerSteps?.ToString(CultureInfo.InvariantCulture) ?? "", s.QatOptimizerSteps?.ToString(CultureInfo.InvariantCulture) ?? "",
                s.PiecewiseLinearBins.ToString(CultureInfo.InvariantCulture),
            }));
        }
        return text.ToString();
    }

    /// <summary>The trials as JSON (what a checkpoint holds).</summary>
    public string ToJson() => JsonSerializer.Serialize(Trials, JsonOptions);

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
