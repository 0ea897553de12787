using Qat.MLNet.Internal;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// Tracks an exponential moving average of each channel's minimum and maximum (PyTorch:
/// <c>torch.ao.quantization.MovingAveragePerChannelMinMaxObserver</c>), the weight observer of PyTorch's default
/// fbgemm QAT configuration: the first batch sets the values, then
/// <c>min_val = min_val + averagingConstant * (min(x_c) - min_val)</c> per channel (float32).
/// </summary>
public class MovingAveragePerChannelMinMaxObserver : PerChannelMinMaxObserver
{
    /// <summary>Creates the observer.</summary>
    /// <param name="averagingConstant">The weight of each new batch, in (0, 1] (default 0.01).</param>
    /// <param name="chAxis">The channel axis, at least 0 (default 0).</param>
    /// <param name="dtype">The quantized type (default quint8).</param>
    /// <param name="qscheme">A per-channel scheme (default affine).</param>
    /// <param name="reduceRange">Drop one bit of range (default false).</param>
    /// <param name="quantMin">Custom lower end, with <paramref name="quantMax"/>; null for the dtype's range.</param>
    /// <param name="quantMax">Custom upper end; null for the dtype's range.</param>
    /// <param name="eps">The smallest scale (default 2^-23).</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public MovingAveragePerChannelMinMaxObserver(float averagingConstant = MovingAverageMinMaxObserver.DefaultAveragingConstant,
        int chAxis = 0, QuantDType dtype = QuantDType.QUInt8, QScheme qscheme = QScheme.PerChannelAffine, bool reduceRange = false,
        int? quantMin = null, int? quantMax = null, float eps = DefaultEps)
        : base(nameof(MovingAveragePerChannelMinMaxObserver), chAxis, dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        Guard.Require(averagingConstant > 0f && averagingConstant <= 1f, nameof(averagingConstant), averagingConstant, "must be in (0, 1].");
        AveragingConstant = averagingConstant;
    }

    /// <summary>A factory for this observer (PyTorch: <c>MovingAveragePerChannelMinMaxObserver.with_args(...)</c>); unset arguments keep their defaults.</summary>
    public static ObserverFactory WithArgs(float? averagingConstant = null, int? chAxis = null, QuantDType? dtype = null,
        QScheme? qscheme = null, bool? reduceRange = null, int? quantMin = null, int? quantMax = null, float? eps = null)
        => new ObserverFactory(ObserverKind.MovingAveragePerChannelMinMax, new ObserverArgs())
            .WithArgs(dtype, qscheme, reduceRange, quantMin, quantMax, eps, averagingConstant, chAxis);

    /// <summary>The weight of each new batch (PyTorch: <c>averaging_constant</c>).</summary>
    public float AveragingConstant { get; }

    /// <inheritdoc />
    protected override void Update(float[] min, float[] max, float[] currentMin, float[] currentMax)
    {
        for (int c = 0; c < min.Length; c++)
        {
            min[c] = min[c] + AveragingConstant * (currentMin[c] - min[c]);
            max[c] = max[c] + AveragingConstant * (currentMax[c] - max[c]);
        }
    }
}
