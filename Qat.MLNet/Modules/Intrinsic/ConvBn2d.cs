using TorchSharp.Modules;

namespace Qat.MLNet.Modules.Intrinsic;

/// <summary>
/// A fused Conv2d followed by BatchNorm2d, still in float (PyTorch: <c>torch.nn.intrinsic.ConvBn2d</c>): QAT fusion
/// keeps the BatchNorm so that <see cref="Qat.ConvBn2d"/> can simulate its folding. Children <c>0</c>, <c>1</c>.
/// </summary>
public sealed class ConvBn2d : Sequential
{
    /// <summary>Fuses <paramref name="conv"/> and <paramref name="bn"/>.</summary>
    /// <exception cref="ArgumentException">The channel counts differ.</exception>
    public ConvBn2d(TorchSharp.Modules.Conv2d conv, BatchNorm2d bn)
        : base(("0", Check.NotNull(conv, nameof(conv))), ("1", Check.ConvBn(conv, bn)))
    {
        Conv = conv;
        BatchNorm = bn;
    }

    /// <summary>The convolution.</summary>
    public TorchSharp.Modules.Conv2d Conv { get; }

    /// <summary>The batch normalization.</summary>
    public BatchNorm2d BatchNorm { get; }
}
