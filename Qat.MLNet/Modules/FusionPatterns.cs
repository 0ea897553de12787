using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// The module sequences that fuse for QAT (PyTorch: <c>fuse_modules_qat</c>'s default patterns), longest first:
/// Conv2d + BatchNorm2d + ReLU, Conv2d + BatchNorm2d, Conv2d + ReLU, Linear + ReLU. BatchNorm is kept, not folded:
/// the QAT ConvBn modules simulate its folding while its statistics still train.
/// </summary>
internal static class FusionPatterns
{
    /// <summary>The patterns as text, for messages.</summary>
    public const string Supported = "[Conv2d, BatchNorm2d, ReLU], [Conv2d, BatchNorm2d], [Conv2d, ReLU], [Linear, ReLU]";

    /// <summary>The longest pattern length.</summary>
    public const int MaxLength = 3;

    /// <summary>Whether <paramref name="modules"/> form a pattern (types only; nothing is built).</summary>
    public static bool Matches(IReadOnlyList<nn.Module> modules) => modules switch
    {
        [TorchSharp.Modules.Conv2d, BatchNorm2d, ReLU] => true,
        [TorchSharp.Modules.Conv2d, BatchNorm2d] => true,
        [TorchSharp.Modules.Conv2d, ReLU] => true,
        [TorchSharp.Modules.Linear, ReLU] => true,
        _ => false,
    };

    /// <summary>The fused module for <paramref name="modules"/> (which it takes over), or null when they form no pattern.</summary>
    public static nn.Module<Tensor, Tensor>? TryFuse(IReadOnlyList<nn.Module> modules) => modules switch
    {
        [TorchSharp.Modules.Conv2d conv, BatchNorm2d bn, ReLU relu] => new Intrinsic.ConvBnReLU2d(conv, bn, relu),
        [TorchSharp.Modules.Conv2d conv, BatchNorm2d bn] => new Intrinsic.ConvBn2d(conv, bn),
        [TorchSharp.Modules.Conv2d conv, ReLU relu] => new Intrinsic.ConvReLU2d(conv, relu),
        [TorchSharp.Modules.Linear linear, ReLU relu] => new Intrinsic.LinearReLU(linear, relu),
        _ => null,
    };
}
