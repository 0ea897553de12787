using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// The QAT form of a fused Conv2d + ReLU (PyTorch: <c>torch.ao.nn.intrinsic.qat.ConvReLU2d</c>):
/// <c>relu(conv2d(x, fq(W), b))</c>, then the activation fake-quantize.
/// </summary>
public sealed class ConvReLU2d : Conv2d
{
    /// <summary>Creates the layer over existing parameters (shared).</summary>
    public ConvReLU2d(ConvGeometry geometry, Parameter weight, Parameter? bias, QConfig qconfig)
        : base(nameof(ConvReLU2d), geometry, weight, bias, qconfig)
    {
    }

    /// <summary>Makes the QAT layer from a fused <see cref="Intrinsic.ConvReLU2d"/>, sharing its parameters.</summary>
    /// <exception cref="ArgumentException">The module is not an Intrinsic.ConvReLU2d.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    public static new ConvReLU2d FromFloat(nn.Module module, QConfig qconfig)
    {
        var fused = ExpectFloat<Intrinsic.ConvReLU2d>(module, qconfig, "Qat.ConvReLU2d");
        return new ConvReLU2d(ConvGeometry.Of(fused.Conv), fused.Conv.weight, fused.Conv.bias, qconfig);
    }

    private protected override Tensor Activate(Tensor y) => nn.functional.relu(y);

    /// <summary>A float <see cref="Intrinsic.ConvReLU2d"/> sharing these parameters.</summary>
    public override nn.Module<Tensor, Tensor> ToFloat() => new Intrinsic.ConvReLU2d(Geometry.ToFloat(Weight, Bias), nn.ReLU());
}
