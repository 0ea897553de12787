namespace Qat.MLNet.Reports;

/// <summary>One epoch of training.</summary>
/// <param name="Epoch">1-based epoch number over all epochs.</param>
/// <param name="Phase">Float pre-training or QAT.</param>
/// <param name="LearningRate">The learning rate used in the epoch.</param>
/// <param name="ObserversFrozen">Whether observers were disabled (scales and zero points fixed) during the epoch.</param>
/// <param name="BatchNormFrozen">Whether batch-norm statistics were frozen during the epoch.</param>
/// <param name="Training">Loss/accuracy over the epoch's training batches, measured as they were trained (model in training mode).</param>
/// <param name="Validation">Loss/accuracy on the validation set after the epoch (model in eval mode), or null without one.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
public sealed record QatEpochReport(int Epoch, QatTrainingPhase Phase, double LearningRate, bool ObserversFrozen, bool BatchNormFrozen,
    QatMetrics Training, QatMetrics? Validation, double Seconds)
{
    /// <summary>The 1-based ensemble member the epoch trained (each member counts its epochs from 1); null for a single network.</summary>
    public int? Member { get; init; }
}
