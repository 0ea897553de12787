using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// A linear layer that trains with fake-quantized weights (PyTorch: <c>torch.ao.nn.qat.Linear</c>):
/// <c>y = x · fq(W)ᵀ + b</c>, then the activation fake-quantize once PrepareQat has attached it.
/// </summary>
public class Linear : QatModule
{
    /// <summary>Creates the layer over existing parameters (shared, not copied).</summary>
    /// <param name="weight">The [out, in] weight.</param>
    /// <param name="bias">The [out] bias, or null.</param>
    /// <param name="qconfig">The configuration.</param>
    public Linear(Parameter weight, Parameter? bias, QConfig qconfig) : this(nameof(Linear), weight, bias, qconfig)
    {
    }

    private protected Linear(string name, Parameter weight, Parameter? bias, QConfig qconfig) : base(name, qconfig, weight, bias)
    {
        if (weight.dim() != 2)
            throw new ArgumentException($"weight must be [out_features, in_features], got [{string.Join(", ", weight.shape)}].", nameof(weight));
        RegisterComponents();
    }

    /// <summary>Makes the QAT layer from a float <see cref="TorchSharp.Modules.Linear"/>, sharing its parameters (PyTorch: <c>from_float</c>).</summary>
    /// <exception cref="ArgumentException">The module is not a TorchSharp Linear.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    public static Linear FromFloat(nn.Module module, QConfig qconfig)
    {
        var linear = ExpectFloat<TorchSharp.Modules.Linear>(module, qconfig, "Qat.Linear");
        return new Linear(linear.weight, linear.bias, qconfig);
    }

    /// <summary>Input features.</summary>
    public long InFeatures => Weight.shape[1];

    /// <summary>Output features.</summary>
    public long OutFeatures => Weight.shape[0];

    /// <summary>The linear map with the fake-quantized weight, the fused activation, then the activation post-process.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.linear(input, WeightFakeQuant.call(Weight), Bias);
        return PostProcess(Activate(y)).MoveToOuterDisposeScope();
    }

    /// <summary>The fused activation: none here, ReLU in <see cref="LinearReLU"/>.</summary>
    private protected virtual Tensor Activate(Tensor y) => y;

    /// <summary>A float <see cref="TorchSharp.Modules.Linear"/> sharing these parameters (PyTorch: <c>to_float</c>).</summary>
    public virtual nn.Module<Tensor, Tensor> ToFloat() => FloatLinear();

    private protected TorchSharp.Modules.Linear FloatLinear()
    {
        var linear = nn.Linear(InFeatures, OutFeatures, hasBias: Bias is not null);
        linear.weight = Weight;
        if (Bias is not null)
            linear.bias = Bias;
        return linear;
    }
}
