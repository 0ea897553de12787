namespace Qat.MLNet.Experiments;

/// <summary>How a trial ended.</summary>
public enum QatTrialStatus
{
    /// <summary>Trained, measured, every constraint held.</summary>
    Completed,

    /// <summary>Trained and measured, but it broke a constraint (<see cref="QatTrialResult.Violations"/>): never returned as best.</summary>
    ConstraintViolated,

    /// <summary>Training or measuring threw (<see cref="QatTrialResult.Error"/>): recorded, the experiment goes on.</summary>
    Failed,

    /// <summary>Stopped by cancellation or the time budget.</summary>
    Cancelled,
}

/// <summary>One trial of an experiment: its settings and what its int8 model measured.</summary>
public sealed record QatTrialResult
{
    /// <summary>Whether this trial is the trainer's defaults run before the tuner's (<c>QatExperiment.SetDefaultsFirst</c>); tuners do not see it.</summary>
    public bool IsDefaults { get; init; }

    /// <summary>Trial number, from 0.</summary>
    public int Id { get; init; }

    /// <summary>The settings trained with.</summary>
    public required QatTrialSettings Settings { get; init; }

    /// <summary>How it ended.</summary>
    public QatTrialStatus Status { get; init; }

    /// <summary>The experiment's metric of the int8 model on the validation data (mean over folds); NaN when not measured.</summary>
    public double Metric { get; init; } = double.NaN;

    /// <summary>
    /// The metric on each validation split, in the experiment's split order (one value for <c>SetDataset(train,
    /// validation)</c>, one per fold for cross-validation); <see cref="Metric"/> is their mean. Empty when not measured.
    /// The best-trial rule of <c>SetDefaultsFirst</c> compares trials fold by fold.
    /// </summary>
    public IReadOnlyList<double> FoldMetrics { get; init; } = [];

    /// <summary>Float accuracy minus int8 accuracy on the validation data (classification; NaN for regression).</summary>
    public double MetricDrop { get; init; } = double.NaN;

    /// <summary>Bytes of the int8 model's parameters (what its file holds).</summary>
    public long ModelBytes { get; init; }

    /// <summary>Median batch-1 latency of the int8 engine on this machine, in microseconds.</summary>
    public double LatencyMicroseconds { get; init; } = double.NaN;

    /// <summary>Wall-clock seconds the trial took.</summary>
    public double Seconds { get; init; }

    /// <summary>The constraints it broke.</summary>
    public IReadOnlyList<string> Violations { get; init; } = [];

    /// <summary>The exception's type and message of a failed trial.</summary>
    public string? Error { get; init; }

    /// <summary>Successive halving's rung (0 = smallest budget); 0 for other tuners.</summary>
    public int Rung { get; init; }
}
