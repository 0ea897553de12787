using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// Makes a new observer of one kind with fixed arguments on each <see cref="Create"/> (PyTorch: <c>Observer.with_args(...)</c>).
/// Start from a class's <c>WithArgs</c>, e.g. <c>MovingAverageMinMaxObserver.WithArgs(reduceRange: true)</c>; refine with
/// <c>WithArgs</c>, which returns a new factory and leaves this one as it is.
/// </summary>
public sealed class ObserverFactory : QuantizerFactory
{
    /// <summary>Creates a factory for <paramref name="kind"/> with <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An argument does not apply to the observer kind.</exception>
    public ObserverFactory(ObserverKind kind, ObserverArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Kind = kind;
        Args = args;
        bool movingAverage = kind is ObserverKind.MovingAverageMinMax or ObserverKind.MovingAveragePerChannelMinMax;
        bool perChannel = kind is ObserverKind.PerChannelMinMax or ObserverKind.MovingAveragePerChannelMinMax;
        if (args.AveragingConstant.HasValue && !movingAverage)
            throw new ArgumentException($"averagingConstant ({args.AveragingConstant}) does not apply to {kind}Observer: use a MovingAverage observer.", "averagingConstant");
        if (args.ChAxis.HasValue && !perChannel)
            throw new ArgumentException($"chAxis ({args.ChAxis}) does not apply to {kind}Observer: use a PerChannel observer.", "chAxis");
    }

    /// <summary>The observer class this factory makes.</summary>
    public ObserverKind Kind { get; }

    /// <summary>The arguments given so far.</summary>
    public ObserverArgs Args { get; }

    /// <summary>A new factory with these arguments added (later values win); this factory is unchanged.</summary>
    public ObserverFactory WithArgs(QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null, int? quantMin = null,
        int? quantMax = null, float? eps = null, float? averagingConstant = null, int? chAxis = null)
        => new(Kind, Args.Merge(new ObserverArgs
        {
            Dtype = dtype, QScheme = qscheme, ReduceRange = reduceRange, QuantMin = quantMin, QuantMax = quantMax,
            Eps = eps, AveragingConstant = averagingConstant, ChAxis = chAxis,
        }));

    /// <summary>A new factory with <paramref name="args"/> merged in (later values win).</summary>
    public ObserverFactory WithArgs(ObserverArgs args) => new(Kind, Args.Merge(args));

    /// <summary>Creates a new observer.</summary>
    /// <exception cref="ArgumentException">The arguments are invalid for the observer.</exception>
    public ObserverBase CreateObserver()
    {
        var a = Args;
        var dtype = a.Dtype ?? QuantDType.QUInt8;
        bool reduce = a.ReduceRange ?? false;
        float eps = a.Eps ?? ObserverBase.DefaultEps;
        float averaging = a.AveragingConstant ?? MovingAverageMinMaxObserver.DefaultAveragingConstant;
        return Kind switch
        {
            ObserverKind.MinMax => new MinMaxObserver(dtype, a.QScheme ?? QScheme.PerTensorAffine, reduce, a.QuantMin, a.QuantMax, eps),
            ObserverKind.MovingAverageMinMax => new MovingAverageMinMaxObserver(averaging, dtype, a.QScheme ?? QScheme.PerTensorAffine, reduce, a.QuantMin, a.QuantMax, eps),
            ObserverKind.PerChannelMinMax => new PerChannelMinMaxObserver(a.ChAxis ?? 0, dtype, a.QScheme ?? QScheme.PerChannelAffine, reduce, a.QuantMin, a.QuantMax, eps),
            ObserverKind.MovingAveragePerChannelMinMax => new MovingAveragePerChannelMinMaxObserver(averaging, a.ChAxis ?? 0, dtype, a.QScheme ?? QScheme.PerChannelAffine, reduce, a.QuantMin, a.QuantMax, eps),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown observer kind."),
        };
    }

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> Create() => CreateObserver();

    /// <inheritdoc />
    public override string ToString() => $"{Kind}Observer.WithArgs({Args})";
}
