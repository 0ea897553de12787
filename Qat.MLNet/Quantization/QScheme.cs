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

/// <summary>Facts about <see cref="QScheme"/> values.</summary>
public static class QSchemeExtensions
{
    /// <summary>Whether the scheme has one scale per channel.</summary>
    public static bool IsPerChannel(this QScheme qscheme) => qscheme is QScheme.PerChannelAffine or QScheme.PerChannelSymmetric;

    /// <summary>Whether the scheme is symmetric around zero.</summary>
    public static bool IsSymmetric(this QScheme qscheme) => qscheme is QScheme.PerTensorSymmetric or QScheme.PerChannelSymmetric;

    /// <summary>PyTorch's name of the scheme, e.g. <c>per_tensor_affine</c>.</summary>
    public static string TorchName(this QScheme qscheme) => qscheme switch
    {
        QScheme.PerTensorAffine => "per_tensor_affine",
        QScheme.PerTensorSymmetric => "per_tensor_symmetric",
        QScheme.PerChannelAffine => "per_channel_affine",
        QScheme.PerChannelSymmetric => "per_channel_symmetric",
        _ => throw new ArgumentOutOfRangeException(nameof(qscheme), qscheme, "Unknown QScheme."),
    };
}
