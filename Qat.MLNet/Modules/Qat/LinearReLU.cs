using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// The QAT form of a fused Linear + ReLU (PyTorch: <c>torch.ao.nn.intrinsic.qat.LinearReLU</c>):
/// <c>relu(x · fq(W)ᵀ + b)</c>, then the activation fake-quantize, so the output is observed after the ReLU.
/// </summary>
public sealed class LinearReLU : Linear
{
    /// <summary>Creates the layer over existing parameters (shared).</summary>
    public LinearReLU(Parameter weight, Parameter? bias, QConfig qconfig) : base(nameof(LinearReLU), weight, bias, qconfig)
    {
    }

    /// <summary>Makes the QAT layer from a fused <see cref="Intrinsic.LinearReLU"/>, sharing its parameters.</summary>
    /// <exception cref="ArgumentException">The module is not an Intrinsic.LinearReLU.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    public static new LinearReLU FromFloat(nn.Module module, QConfig qconfig)
    {
        var fused = ExpectFloat<Intrinsic.LinearReLU>(module, qconfig, "Qat.LinearReLU");
        return new LinearReLU(fused.Linear.weight, fused.Linear.bias, qconfig);
    }

    private protected override Tensor Activate(Tensor y) => nn.functional.relu(y);

    /// <summary>A float <see cref="Intrinsic.LinearReLU"/> sharing these parameters.</summary>
    public override nn.Module<Tensor, Tensor> ToFloat() => new Intrinsic.LinearReLU(FloatLinear(), nn.ReLU());
}
