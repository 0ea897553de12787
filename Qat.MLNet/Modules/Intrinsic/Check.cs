using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Intrinsic;

/// <summary>Argument checks of the fused modules, usable in constructor initializers.</summary>
internal static class Check
{
    /// <summary>Returns <paramref name="module"/>, or throws if it is null.</summary>
    public static nn.Module<Tensor, Tensor> NotNull(nn.Module<Tensor, Tensor>? module, string name)
        => module ?? throw new ArgumentNullException(name, $"{name} must not be null.");

    /// <summary>Returns <paramref name="bn"/> after checking that it normalizes the convolution's output channels.</summary>
    public static nn.Module<Tensor, Tensor> ConvBn(TorchSharp.Modules.Conv2d conv, BatchNorm2d? bn)
    {
        ArgumentNullException.ThrowIfNull(bn);
        if (bn.num_features != conv.out_channels)
            throw new ArgumentException($"bn has {bn.num_features} features but the convolution has {conv.out_channels} output channels; fuse a BatchNorm2d that follows this convolution.", nameof(bn));
        return bn;
    }
}
