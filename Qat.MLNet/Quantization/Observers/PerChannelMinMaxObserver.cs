using Qat.MLNet.Internal;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// Tracks the running minimum and maximum of each slice along the channel axis (PyTorch:
/// <c>torch.ao.quantization.PerChannelMinMaxObserver</c>). Per-channel schemes only; defaults quint8,
/// <see cref="QScheme.PerChannelAffine"/>, axis 0. The buffers are empty until the first batch, then hold one value
/// per channel.
/// </summary>
public class PerChannelMinMaxObserver : ObserverBase, IQuantStateResizable
{
    [ComponentName(Name = "min_val")]
    private Tensor _minVal;

    [ComponentName(Name = "max_val")]
    private Tensor _maxVal;

    /// <summary>Creates the observer.</summary>
    /// <param name="chAxis">The channel axis, at least 0 (default 0; checked against each input's rank).</param>
    /// <param name="dtype">The quantized type (default quint8).</param>
    /// <param name="qscheme">A per-channel scheme (default affine).</param>
    /// <param name="reduceRange">Drop one bit of range (default false).</param>
    /// <param name="quantMin">Custom lower end, with <paramref name="quantMax"/>; null for the dtype's range.</param>
    /// <param name="quantMax">Custom upper end; null for the dtype's range.</param>
    /// <param name="eps">The smallest scale (default 2^-23).</param>
    /// <exception cref="ArgumentException">A setting is invalid, or <paramref name="qscheme"/> is per-tensor.</exception>
    public PerChannelMinMaxObserver(int chAxis = 0, QuantDType dtype = QuantDType.QUInt8, QScheme qscheme = QScheme.PerChannelAffine,
        bool reduceRange = false, int? quantMin = null, int? quantMax = null, float eps = DefaultEps)
        : this(nameof(PerChannelMinMaxObserver), chAxis, dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
    }

    /// <summary>Creates the observer under another module name (for derived observers).</summary>
    protected PerChannelMinMaxObserver(string name, int chAxis, QuantDType dtype, QScheme qscheme, bool reduceRange,
        int? quantMin, int? quantMax, float eps)
        : base(name, dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        Guard.Require(qscheme.IsPerChannel(), nameof(qscheme), qscheme,
            $"is per-tensor; {name} supports PerChannelAffine and PerChannelSymmetric (use MinMaxObserver for per-tensor schemes).");
        Guard.InRange(chAxis >= 0, nameof(chAxis), chAxis, "must be >= 0.");
        ChAxis = chAxis;
        _minVal = ModuleBuffers.Create(Array.Empty<float>(), new long[] { 0 });
        _maxVal = ModuleBuffers.Create(Array.Empty<float>(), new long[] { 0 });
        RegisterComponents();
    }

    /// <summary>A factory for this observer (PyTorch: <c>PerChannelMinMaxObserver.with_args(...)</c>); unset arguments keep their defaults.</summary>
    public static ObserverFactory WithArgs(int? chAxis = null, QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null,
        int? quantMin = null, int? quantMax = null, float? eps = null)
        => new ObserverFactory(ObserverKind.PerChannelMinMax, new ObserverArgs())
            .WithArgs(dtype, qscheme, reduceRange, quantMin, quantMax, eps, chAxis: chAxis);

    /// <summary>The channel axis (PyTorch: <c>ch_axis</c>).</summary>
    public int ChAxis { get; }

    /// <inheritdoc />
    public override Tensor MinVal => _minVal;

    /// <inheritdoc />
    public override Tensor MaxVal => _maxVal;

    /// <summary>Records the per-channel min and max of x; returns x unchanged (a new handle to the same data).</summary>
    /// <exception cref="ArgumentException">x has too few dimensions for the channel axis, or a different channel count than before.</exception>
    public override Tensor forward(Tensor x)
    {
        if (x.numel() == 0)
            return x.alias();
        Guard.Require(ChAxis < x.dim(), "x", $"tensor of shape [{string.Join(", ", x.shape)}]", $"has no channel axis {ChAxis}.");
        var (currentMin, currentMax) = ObservedRange.PerChannel(x, ChAxis);
        float[] min, max;
        if (_minVal.numel() == 0)
        {
            (min, max) = (currentMin, currentMax);
        }
        else
        {
            Guard.Require(_minVal.numel() == currentMin.Length, "x", $"tensor with {currentMin.Length} channels on axis {ChAxis}",
                $"must have the {_minVal.numel()} channels this observer has seen before.");
            min = TensorMemory.ToFloatArray(_minVal);
            max = TensorMemory.ToFloatArray(_maxVal);
            Update(min, max, currentMin, currentMax);
        }
        var shape = new long[] { min.Length };
        WriteBuffer(ref _minVal, "min_val", min, shape);
        WriteBuffer(ref _maxVal, "max_val", max, shape);
        return x.alias(); // the input as a new handle: TorchSharp's Sequential disposes each intermediate result
    }

    /// <summary>Combines the running per-channel statistics (updated in place) with a batch's: here the plain running min and max.</summary>
    protected virtual void Update(float[] min, float[] max, float[] currentMin, float[] currentMax)
    {
        for (int c = 0; c < min.Length; c++)
        {
            min[c] = MathF.Min(currentMin[c], min[c]);
            max[c] = MathF.Max(currentMax[c], max[c]);
        }
    }

    /// <inheritdoc />
    protected override bool IsUnobserved() => _minVal.numel() == 0;

    /// <summary>Loads state, first resizing <c>min_val</c>/<c>max_val</c> to the saved shapes (PyTorch's <c>_load_from_state_dict</c>).</summary>
    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        QuantizationState.ResizeBuffersToMatch(this, source);
        return base.load_state_dict(source, strict, skip);
    }

    void IQuantStateResizable.ResizeBuffersFor(IReadOnlyDictionary<string, Tensor> source, string prefix)
    {
        if (source.TryGetValue(prefix + "min_val", out var min) && !min.shape.SequenceEqual(_minVal.shape))
            WriteBuffer(ref _minVal, "min_val", new float[min.numel()], min.shape);
        if (source.TryGetValue(prefix + "max_val", out var max) && !max.shape.SequenceEqual(_maxVal.shape))
            WriteBuffer(ref _maxVal, "max_val", new float[max.numel()], max.shape);
    }
}
