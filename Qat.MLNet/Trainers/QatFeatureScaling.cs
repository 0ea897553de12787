namespace Qat.MLNet.Trainers;

/// <summary>How the trainer scales features before the network's input quantization.</summary>
public enum QatFeatureScaling
{
    /// <summary>
    /// <see cref="Standardize"/> for networks that read feature vectors (<c>QatNetwork.Mlp</c>, custom networks without an
    /// input shape); <see cref="None"/> for networks that read images (<c>QatNetwork.Cnn</c>, custom ones with a shape),
    /// whose pixels share one scale already.
    /// </summary>
    Auto,

    /// <summary>
    /// Per-feature standardization with the training rows' mean and deviation, folded into the int8 model's input step
    /// (saved with it), so features whose magnitudes differ by orders of magnitude share the one input quantization scale.
    /// </summary>
    Standardize,

    /// <summary>The features as they come (normalize them in the pipeline).</summary>
    None,
}
