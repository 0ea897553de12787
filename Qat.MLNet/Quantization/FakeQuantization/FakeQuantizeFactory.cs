using Qat.MLNet.Quantization.Observers;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Makes a new <see cref="FakeQuantize"/> with fixed arguments on each <see cref="Create"/> (PyTorch:
/// <c>FakeQuantize.with_args(...)</c>). Refine with <see cref="WithArgs"/>, which returns a new factory.
/// </summary>
public sealed class FakeQuantizeFactory : QuantizerFactory
{
    /// <summary>Creates the factory.</summary>
    /// <param name="observer">The observer factory, carrying the observer arguments.</param>
    /// <param name="quantMin">Custom lower end of the range, or null.</param>
    /// <param name="quantMax">Custom upper end of the range, or null.</param>
    public FakeQuantizeFactory(ObserverFactory observer, int? quantMin, int? quantMax)
    {
        Observer = observer ?? throw new ArgumentNullException(nameof(observer));
        QuantMin = quantMin;
        QuantMax = quantMax;
    }

    /// <summary>The observer factory, with every observer argument given so far.</summary>
    public ObserverFactory Observer { get; }

    /// <summary>The custom lower end of the range, or null.</summary>
    public int? QuantMin { get; }

    /// <summary>The custom upper end of the range, or null.</summary>
    public int? QuantMax { get; }

    /// <summary>
    /// A new factory with these arguments added; a new <paramref name="observer"/> replaces the old one (its own arguments
    /// then take precedence over none), the observer arguments are merged into it, later values winning.
    /// </summary>
    public FakeQuantizeFactory WithArgs(ObserverFactory? observer = null, int? quantMin = null, int? quantMax = null,
        QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null, float? eps = null, float? averagingConstant = null,
        int? chAxis = null)
    {
        var baseObserver = observer ?? Observer;
        var merged = baseObserver.WithArgs(dtype, qscheme, reduceRange, null, null, eps, averagingConstant, chAxis);
        return new FakeQuantizeFactory(merged, quantMin ?? QuantMin, quantMax ?? QuantMax);
    }

    /// <summary>Creates a new FakeQuantize.</summary>
    /// <exception cref="ArgumentException">The arguments are invalid.</exception>
    public FakeQuantize CreateFakeQuantize() => new(Observer, QuantMin, QuantMax);

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> Create() => CreateFakeQuantize();

    /// <inheritdoc />
    public override string ToString() => $"FakeQuantize.WithArgs(observer: {Observer}, quantMin: {QuantMin}, quantMax: {QuantMax})";
}
