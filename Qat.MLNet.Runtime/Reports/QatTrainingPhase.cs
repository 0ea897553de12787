namespace Qat.MLNet.Reports;

/// <summary>Which kind of epoch a line of the report describes.</summary>
public enum QatTrainingPhase
{
    /// <summary>Float pre-training, before fake quantization was inserted.</summary>
    Float,

    /// <summary>Quantization-aware training: fake-quantized weights and activations, straight-through gradients.</summary>
    QuantizationAware,
}
