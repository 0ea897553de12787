namespace Qat.MLNet.Trainers;

/// <summary>How the multiclass trainer weighs each class's rows in the training loss (<see cref="QatMulticlassTrainer.Options.ClassWeighting"/>).</summary>
public enum QatClassWeighting
{
    /// <summary>Every row weighs 1: rare classes count as little as they are frequent (PyTorch's <c>cross_entropy</c> without <c>weight</c>).</summary>
    None,

    /// <summary>
    /// A row of class c weighs <c>n / (C n_c)</c> (n training rows, C classes present, n_c rows of class c; scikit-learn's
    /// <c>class_weight="balanced"</c>), passed as <c>cross_entropy</c>'s <c>weight</c>: every class counts alike, as in macro
    /// accuracy, and balanced data trains as with <see cref="None"/>.
    /// </summary>
    Balanced,
}
