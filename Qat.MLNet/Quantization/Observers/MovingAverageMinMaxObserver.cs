using Qat.MLNet.Internal;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// Tracks an exponential moving average of each batch's minimum and maximum (PyTorch:
/// <c>torch.ao.quantization.MovingAverageMinMaxObserver</c>), the activation observer of PyTorch's default QAT
/// configurations: the first batch sets <c>min_val</c>, then
/// <c>min_val = min_val + averagingConstant * (min(x) - min_val)</c> (float32), likewise for max.
/// </summary>
public class MovingAverageMinMaxObserver : MinMaxObserver
{
    /// <summary>PyTorch's default averaging constant.</summary>
    public const float DefaultAveragingConstant = 0.01f;

    /// <summary>Creates the observer.</summary>
    /// <param name="averagingConstant">The weight of each new batch, in (0, 1] (default 0.01).</param>
    /// <param name="dtype">The quantized type (default quint8).</param>
    /// <param name="qscheme">A per-tensor scheme (default affine).</param>
    /// <param name="reduceRange">Drop one bit of range (default false).</param>
    /// <param name="quantMin">Custom lower end, with <paramref name="quantMax"/>; null for the dtype's range.</param>
    /// <param name="quantMax">Custom upper end; null for the dtype's range.</param>
    /// <param name="eps">The smallest scale (default 2^-23).</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public MovingAverageMinMaxObserver(float averagingConstant = DefaultAveragingConstant, QuantDType dtype = QuantDType.QUInt8,
        QScheme qscheme = QScheme.PerTensorAffine, bool reduceRange = false, int? quantMin = null, int? quantMax = null, float eps = DefaultEps)
        : base(nameof(MovingAverageMinMaxObserver), dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        Guard.Require(averagingConstant > 0f && averagingConstant <= 1f, nameof(averagingConstant), averagingConstant, "must be in (0, 1].");
        AveragingConstant = averagingConstant;
    }

    /// <summary>A factory for this observer (PyTorch: <c>MovingAverageMinMaxObserver.with_args(...)</c>); unset arguments keep their defaults.</summary>
    public static ObserverFactory WithArgs(float? averagingConstant = null, QuantDType? dtype = null, QScheme? qscheme = null,
        bool? reduceRange = null, int? quantMin = null, int? quantMax = null, float? eps = null)
        => new ObserverFactory(ObserverKind.MovingAverageMinMax, new ObserverArgs())
            .WithArgs(dtype, qscheme, reduceRange, quantMin, quantMax, eps, averagingConstant);

    /// <summary>The weight of each new batch (PyTorch: <c>averaging_constant</c>).</summary>
    public float AveragingConstant { get; }

    /// <inheritdoc />
    protected override (float Min, float Max) Update(float min, float max, float currentMin, float currentMax)
    {
        if (float.IsPositiveInfinity(min) && float.IsNegativeInfinity(max))
            return (currentMin, currentMax);
        return (min + AveragingConstant * (currentMin - min), max + AveragingConstant * (currentMax - max));
    }
}
