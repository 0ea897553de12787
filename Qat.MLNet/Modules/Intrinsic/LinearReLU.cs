using TorchSharp.Modules;

namespace Qat.MLNet.Modules.Intrinsic;

/// <summary>
/// A fused Linear followed by ReLU, still in float (PyTorch: <c>torch.nn.intrinsic.LinearReLU</c>): what fusion puts in
/// place of the pair, and what PrepareQat swaps for <see cref="Qat.LinearReLU"/>. Children <c>0</c> and <c>1</c>.
/// </summary>
public sealed class LinearReLU : Sequential
{
    /// <summary>Fuses <paramref name="linear"/> and <paramref name="relu"/> (the modules themselves, not copies).</summary>
    public LinearReLU(TorchSharp.Modules.Linear linear, ReLU relu)
        : base(("0", Check.NotNull(linear, nameof(linear))), ("1", Check.NotNull(relu, nameof(relu))))
    {
        Linear = linear;
        ReLU = relu;
    }

    /// <summary>The linear layer.</summary>
    public TorchSharp.Modules.Linear Linear { get; }

    /// <summary>The activation.</summary>
    public ReLU ReLU { get; }
}
