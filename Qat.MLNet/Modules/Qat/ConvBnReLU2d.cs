using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// The QAT form of a fused Conv2d + BatchNorm2d + ReLU (PyTorch: <c>torch.ao.nn.intrinsic.qat.ConvBnReLU2d</c>):
/// <see cref="ConvBn2d"/> followed by ReLU, then the activation fake-quantize.
/// </summary>
public sealed class ConvBnReLU2d : ConvBn2d
{
    /// <summary>Creates the layer over existing parameters and BatchNorm (shared).</summary>
    public ConvBnReLU2d(ConvGeometry geometry, Parameter weight, Parameter? bias, BatchNorm2d bn, QConfig qconfig)
        : base(nameof(ConvBnReLU2d), geometry, weight, bias, bn, qconfig)
    {
    }

    /// <summary>Makes the QAT layer from a fused <see cref="Intrinsic.ConvBnReLU2d"/>, sharing its parameters and BatchNorm.</summary>
    /// <exception cref="ArgumentException">The module is not an Intrinsic.ConvBnReLU2d, or the BatchNorm cannot be folded.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    public static new ConvBnReLU2d FromFloat(nn.Module module, QConfig qconfig)
    {
        var fused = ExpectFloat<Intrinsic.ConvBnReLU2d>(module, qconfig, "Qat.ConvBnReLU2d");
        return new ConvBnReLU2d(ConvGeometry.Of(fused.Conv), fused.Conv.weight, fused.Conv.bias, fused.BatchNorm, qconfig);
    }

    private protected override Tensor Activate(Tensor y) => nn.functional.relu(y);

    /// <summary>A float <see cref="Intrinsic.ConvBnReLU2d"/> sharing these parameters and BatchNorm.</summary>
    public override nn.Module<Tensor, Tensor> ToFloat() => new Intrinsic.ConvBnReLU2d(Geometry.ToFloat(Weight, Bias), BatchNorm, nn.ReLU());
}
