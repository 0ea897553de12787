using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// A 2-D convolution that trains with fake-quantized weights (PyTorch: <c>torch.ao.nn.qat.Conv2d</c>):
/// <c>conv2d(x, fq(W), b)</c>, then the activation fake-quantize once PrepareQat has attached it.
/// </summary>
public class Conv2d : QatModule
{
    /// <summary>Creates the layer over existing parameters (shared, not copied).</summary>
    /// <param name="geometry">Stride, padding, dilation and groups.</param>
    /// <param name="weight">The [out, in/groups, kh, kw] weight.</param>
    /// <param name="bias">The [out] bias, or null.</param>
    /// <param name="qconfig">The configuration.</param>
    public Conv2d(ConvGeometry geometry, Parameter weight, Parameter? bias, QConfig qconfig) : this(nameof(Conv2d), geometry, weight, bias, qconfig)
    {
    }

    private protected Conv2d(string name, ConvGeometry geometry, Parameter weight, Parameter? bias, QConfig qconfig)
        : base(name, qconfig, weight, bias)
    {
        Geometry = geometry ?? throw new ArgumentNullException(nameof(geometry));
        if (weight.dim() != 4 || weight.shape[0] != geometry.OutChannels)
            throw new ArgumentException($"weight must be [{geometry.OutChannels}, in/groups, kh, kw], got [{string.Join(", ", weight.shape)}].", nameof(weight));
        RegisterComponents();
    }

    /// <summary>Makes the QAT layer from a float <see cref="TorchSharp.Modules.Conv2d"/>, sharing its parameters (PyTorch: <c>from_float</c>).</summary>
    /// <exception cref="ArgumentException">The module is not a TorchSharp Conv2d.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    /// <exception cref="NotSupportedException">A padding mode or form the int8 engine cannot run.</exception>
    public static Conv2d FromFloat(nn.Module module, QConfig qconfig)
    {
        var conv = ExpectFloat<TorchSharp.Modules.Conv2d>(module, qconfig, "Qat.Conv2d");
        return new Conv2d(ConvGeometry.Of(conv), conv.weight, conv.bias, qconfig);
    }

    /// <summary>Stride, padding, dilation and groups.</summary>
    public ConvGeometry Geometry { get; }

    /// <summary>The convolution with the fake-quantized weight, the fused activation, then the activation post-process.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = Geometry.Apply(input, WeightFakeQuant.call(Weight), Bias);
        return PostProcess(Activate(y)).MoveToOuterDisposeScope();
    }

    /// <summary>The fused activation: none here, ReLU in <see cref="ConvReLU2d"/>.</summary>
    private protected virtual Tensor Activate(Tensor y) => y;

    /// <summary>A float <see cref="TorchSharp.Modules.Conv2d"/> sharing these parameters (PyTorch: <c>to_float</c>).</summary>
    public virtual nn.Module<Tensor, Tensor> ToFloat() => Geometry.ToFloat(Weight, Bias);
}
