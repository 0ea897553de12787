using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// A quantization module whose buffers change shape with what it has seen (per-channel statistics, scales and zero
/// points start with one element or none and grow to one per channel). PyTorch resizes them in
/// <c>_load_from_state_dict</c>; TorchSharp copies into buffers of the current shape, so they are resized first.
/// </summary>
internal interface IQuantStateResizable
{
    /// <summary>Replaces each own buffer whose entry <c>prefix + name</c> in <paramref name="source"/> has another shape by a zero buffer of that shape.</summary>
    void ResizeBuffersFor(IReadOnlyDictionary<string, Tensor> source, string prefix);
}
