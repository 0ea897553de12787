namespace Qat.MLNet.Quantization;

/// <summary>
/// How scale and zero point are chosen (PyTorch: <c>torch.per_tensor_affine</c>, <c>torch.per_tensor_symmetric</c>,
/// <c>torch.per_channel_affine</c>, <c>torch.per_channel_symmetric</c>).
/// </summary>
public enum QScheme
{
    /// <summary>One scale and zero point for the whole tensor, fitted to [min, max].</summary>
    PerTensorAffine,

    /// <summary>One scale for the whole tensor, fitted to [-max|x|, max|x|]; zero point 0 (qint8) or the range's middle (quint8).</summary>
    PerTensorSymmetric,

    /// <summary>A scale and zero point for each slice along the channel axis, fitted to that slice's [min, max].</summary>
    PerChannelAffine,

    /// <summary>A scale for each slice along the channel axis, fitted to [-max|x|, max|x|] of that slice.</summary>
    PerChannelSymmetric,
}
