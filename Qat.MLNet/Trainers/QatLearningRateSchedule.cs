namespace Qat.MLNet.Trainers;

/// <summary>How the learning rate changes from epoch to epoch (epochs counted over float and QAT epochs together).</summary>
public enum QatLearningRateSchedule
{
    /// <summary>The same rate every epoch.</summary>
    Constant,

    /// <summary>
    /// PyTorch's <c>StepLR</c>: <c>lr * gamma^floor(epoch / stepSize)</c> with <see cref="QatTrainerOptions.LearningRateStepSize"/>
    /// and <see cref="QatTrainerOptions.LearningRateGamma"/>.
    /// </summary>
    Step,

    /// <summary>PyTorch's <c>CosineAnnealingLR</c> down to 0 over all epochs: <c>lr * (1 + cos(pi * epoch / epochs)) / 2</c>.</summary>
    Cosine,
}
