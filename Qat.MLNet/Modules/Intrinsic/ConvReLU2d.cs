using TorchSharp.Modules;

namespace Qat.MLNet.Modules.Intrinsic;

/// <summary>
/// A fused Conv2d followed by ReLU, still in float (PyTorch: <c>torch.nn.intrinsic.ConvReLU2d</c>). Children <c>0</c>, <c>1</c>.
/// </summary>
public sealed class ConvReLU2d : Sequential
{
    /// <summary>Fuses <paramref name="conv"/> and <paramref name="relu"/>.</summary>
    public ConvReLU2d(TorchSharp.Modules.Conv2d conv, ReLU relu)
        : base(("0", Check.NotNull(conv, nameof(conv))), ("1", Check.NotNull(relu, nameof(relu))))
    {
        Conv = conv;
        ReLU = relu;
    }

    /// <summary>The convolution.</summary>
    public TorchSharp.Modules.Conv2d Conv { get; }

    /// <summary>The activation.</summary>
    public ReLU ReLU { get; }
}
