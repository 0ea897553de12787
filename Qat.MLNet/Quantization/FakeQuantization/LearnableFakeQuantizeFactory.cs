using Qat.MLNet.Quantization.Observers;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Makes a new <see cref="LearnableFakeQuantize"/> with fixed arguments on each <see cref="Create"/> (PyTorch:
/// <c>_LearnableFakeQuantize.with_args(...)</c>). Refine with <see cref="WithArgs"/>, which returns a new factory.
/// </summary>
public sealed class LearnableFakeQuantizeFactory : QuantizerFactory
{
    /// <summary>Creates the factory.</summary>
    /// <param name="observer">The observer factory, carrying the observer arguments.</param>
    /// <param name="quantMin">The lower end of the range.</param>
    /// <param name="quantMax">The upper end of the range.</param>
    /// <param name="useGradScaling">Whether the qparams' gradients are scaled (LSQ).</param>
    /// <param name="channelLength">Channels of a per-channel scheme, or -1.</param>
    public LearnableFakeQuantizeFactory(ObserverFactory observer, int quantMin, int quantMax, bool useGradScaling, int channelLength)
    {
        Observer = observer ?? throw new ArgumentNullException(nameof(observer));
        (QuantMin, QuantMax, UseGradScaling, ChannelLength) = (quantMin, quantMax, useGradScaling, channelLength);
    }

    /// <summary>The observer factory.</summary>
    public ObserverFactory Observer { get; }

    /// <summary>The lower end of the range.</summary>
    public int QuantMin { get; }

    /// <summary>The upper end of the range.</summary>
    public int QuantMax { get; }

    /// <summary>Whether the qparams' gradients are scaled by <c>1 / sqrt(numel x quant_max)</c>.</summary>
    public bool UseGradScaling { get; }

    /// <summary>Channels of a per-channel scheme, or -1 (per tensor, or sized by the QAT layer).</summary>
    public int ChannelLength { get; }

    /// <summary>A new factory with these arguments added, later values winning; observer arguments are merged into the observer factory.</summary>
    public LearnableFakeQuantizeFactory WithArgs(ObserverFactory? observer = null, int? quantMin = null, int? quantMax = null, bool? useGradScaling = null,
        int? channelLength = null, QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null, float? averagingConstant = null, int? chAxis = null)
    {
        var merged = (observer ?? Observer).WithArgs(dtype, qscheme, reduceRange, null, null, null, averagingConstant, chAxis);
        return new LearnableFakeQuantizeFactory(merged, quantMin ?? QuantMin, quantMax ?? QuantMax, useGradScaling ?? UseGradScaling, channelLength ?? ChannelLength);
    }

    /// <summary>Creates a new module.</summary>
    /// <exception cref="ArgumentException">The arguments are invalid.</exception>
    public LearnableFakeQuantize CreateLearnableFakeQuantize() => new(Observer, QuantMin, QuantMax, channelLength: ChannelLength, useGradScaling: UseGradScaling);

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> Create() => CreateLearnableFakeQuantize();

    /// <inheritdoc />
    public override string ToString() =>
        $"LearnableFakeQuantize.WithArgs(observer: {Observer}, quantMin: {QuantMin}, quantMax: {QuantMax}, useGradScaling: {UseGradScaling}, channelLength: {ChannelLength})";
}
