namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// The keyword arguments gathered by <c>WithArgs</c> calls (PyTorch: the keywords of a <c>functools.partial</c>); a null
/// property means "not given: use the observer's default".
/// </summary>
public sealed record ObserverArgs
{
    /// <summary>The quantized type.</summary>
    public QuantDType? Dtype { get; init; }

    /// <summary>The quantization scheme.</summary>
    public QScheme? QScheme { get; init; }

    /// <summary>Whether to drop one bit of range.</summary>
    public bool? ReduceRange { get; init; }

    /// <summary>Custom lower end of the range.</summary>
    public int? QuantMin { get; init; }

    /// <summary>Custom upper end of the range.</summary>
    public int? QuantMax { get; init; }

    /// <summary>The smallest scale.</summary>
    public float? Eps { get; init; }

    /// <summary>The moving-average weight (moving-average observers only).</summary>
    public float? AveragingConstant { get; init; }

    /// <summary>The channel axis (per-channel observers only).</summary>
    public int? ChAxis { get; init; }

    /// <summary>These arguments with every non-null value of <paramref name="later"/> taking precedence.</summary>
    public ObserverArgs Merge(ObserverArgs later) => new()
    {
        Dtype = later.Dtype ?? Dtype,
        QScheme = later.QScheme ?? QScheme,
        ReduceRange = later.ReduceRange ?? ReduceRange,
        QuantMin = later.QuantMin ?? QuantMin,
        QuantMax = later.QuantMax ?? QuantMax,
        Eps = later.Eps ?? Eps,
        AveragingConstant = later.AveragingConstant ?? AveragingConstant,
        ChAxis = later.ChAxis ?? ChAxis,
    };
}
