namespace Qat.MLNet.Quantization;

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
