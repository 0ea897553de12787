using Qat.MLNet.Internal;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// Tracks the running minimum and maximum of every tensor it sees (PyTorch:
/// <c>torch.ao.quantization.MinMaxObserver</c>): <c>min_val = min(min_val, min(x))</c>, likewise for max.
/// Per-tensor schemes only; defaults quint8, <see cref="QScheme.PerTensorAffine"/>.
/// </summary>
public class MinMaxObserver : ObserverBase
{
    [ComponentName(Name = "min_val")]
    private Tensor _minVal;

    [ComponentName(Name = "max_val")]
    private Tensor _maxVal;

    /// <summary>Creates the observer.</summary>
    /// <param name="dtype">The quantized type (default quint8).</param>
    /// <param name="qscheme">A per-tensor scheme (default affine).</param>
    /// <param name="reduceRange">Drop one bit of range (default false).</param>
    /// <param name="quantMin">Custom lower end, with <paramref name="quantMax"/>; null for the dtype's range.</param>
    /// <param name="quantMax">Custom upper end; null for the dtype's range.</param>
    /// <param name="eps">The smallest scale (default 2^-23).</param>
    /// <exception cref="ArgumentException">A setting is invalid, or <paramref name="qscheme"/> is per-channel.</exception>
    public MinMaxObserver(QuantDType dtype = QuantDType.QUInt8, QScheme qscheme = QScheme.PerTensorAffine, bool reduceRange = false,
        int? quantMin = null, int? quantMax = null, float eps = DefaultEps)
        : this(nameof(MinMaxObserver), dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
    }

    /// <summary>Creates the observer under another module name (for derived observers).</summary>
    protected MinMaxObserver(string name, QuantDType dtype, QScheme qscheme, bool reduceRange, int? quantMin, int? quantMax, float eps)
        : base(name, dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        Guard.Require(!qscheme.IsPerChannel(), nameof(qscheme), qscheme,
            $"is per-channel; {name} supports PerTensorAffine and PerTensorSymmetric (use a PerChannel observer for per-channel schemes).");
        _minVal = ModuleBuffers.Create(new[] { float.PositiveInfinity }, Array.Empty<long>());
        _maxVal = ModuleBuffers.Create(new[] { float.NegativeInfinity }, Array.Empty<long>());
        RegisterComponents();
    }

    /// <summary>A factory for MinMaxObserver with the given settings (PyTorch: <c>MinMaxObserver.with_args(...)</c>); unset arguments keep their defaults.</summary>
    public static ObserverFactory WithArgs(QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null,
        int? quantMin = null, int? quantMax = null, float? eps = null)
        => new ObserverFactory(ObserverKind.MinMax, new ObserverArgs())
            .WithArgs(dtype, qscheme, reduceRange, quantMin, quantMax, eps);

    /// <inheritdoc />
    public override Tensor MinVal => _minVal;

    /// <inheritdoc />
    public override Tensor MaxVal => _maxVal;

    /// <summary>Records min(x) and max(x); returns x unchanged (a new handle to the same data).</summary>
    public override Tensor forward(Tensor x)
    {
        if (x.numel() == 0)
            return x.alias();
        var (currentMin, currentMax) = ObservedRange.Of(x);
        float min = _minVal.item<float>(), max = _maxVal.item<float>();
        (float newMin, float newMax) = Update(min, max, currentMin, currentMax);
        WriteBuffer(ref _minVal, "min_val", new[] { newMin }, Array.Empty<long>());
        WriteBuffer(ref _maxVal, "max_val", new[] { newMax }, Array.Empty<long>());
        return x.alias(); // the input as a new handle: TorchSharp's Sequential disposes each intermediate result
    }

    /// <summary>How the running statistics combine with a batch's: here the plain running min and max (NaN propagates, as torch.min).</summary>
    protected virtual (float Min, float Max) Update(float min, float max, float currentMin, float currentMax)
        => (MathF.Min(currentMin, min), MathF.Max(currentMax, max));

    /// <inheritdoc />
    protected override bool IsUnobserved()
        => float.IsPositiveInfinity(_minVal.item<float>()) && float.IsNegativeInfinity(_maxVal.item<float>());
}
