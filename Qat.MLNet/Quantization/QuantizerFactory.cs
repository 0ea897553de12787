using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Makes a new observer or fake-quantize module on each call (PyTorch: the callables that <c>with_args</c> returns
/// and that a <c>QConfig</c> holds). A factory is immutable: refining it returns a new factory.
/// </summary>
public abstract class QuantizerFactory
{
    /// <summary>Creates a new, independent module.</summary>
    /// <exception cref="ArgumentException">The accumulated arguments are invalid for the module.</exception>
    public abstract nn.Module<Tensor, Tensor> Create();
}
