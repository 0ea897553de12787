using TorchSharp.Modules;

namespace Qat.MLNet.Modules.Intrinsic;

/// <summary>
/// A fused Conv2d, BatchNorm2d and ReLU, still in float (PyTorch: <c>torch.nn.intrinsic.ConvBnReLU2d</c>).
/// Children <c>0</c>, <c>1</c>, <c>2</c>.
/// </summary>
public sealed class ConvBnReLU2d : Sequential
{
    /// <summary>Fuses <paramref name="conv"/>, <paramref name="bn"/> and <paramref name="relu"/>.</summary>
    /// <exception cref="ArgumentException">The channel counts differ.</exception>
    public ConvBnReLU2d(TorchSharp.Modules.Conv2d conv, BatchNorm2d bn, ReLU relu)
        : base(("0", Check.NotNull(conv, nameof(conv))), ("1", Check.ConvBn(conv, bn)), ("2", Check.NotNull(relu, nameof(relu))))
    {
        Conv = conv;
        BatchNorm = bn;
        ReLU = relu;
    }

    /// <summary>The convolution.</summary>
    public TorchSharp.Modules.Conv2d Conv { get; }

    /// <summary>The batch normalization.</summary>
    public BatchNorm2d BatchNorm { get; }

    /// <summary>The activation.</summary>
    public ReLU ReLU { get; }
}
