using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Marks where a model's output goes back to float (PyTorch: <c>torch.ao.quantization.DeQuantStub</c>). In training it
/// passes its input through; <c>Convert</c> turns it into the output dequantizer.
/// </summary>
public sealed class DeQuantStub : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the stub.</summary>
    public DeQuantStub() : base(nameof(DeQuantStub))
    {
    }

    /// <summary>Returns the input unchanged, as a new handle (TorchSharp's Sequential disposes each intermediate result).</summary>
    public override Tensor forward(Tensor input) => input.alias();
}
