using Qat.MLNet.Internal;
using Qat.MLNet.Quantization.Observers;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Simulates quantization during training (PyTorch: <c>torch.ao.quantization.FakeQuantize</c>, the form PyTorch 1.13's
/// <c>version=0</c> QAT configurations use). In training it feeds each input to its observer, recomputes scale and zero
/// point, and returns the fake-quantized input; gradients pass straight through inside the range.
/// </summary>
/// <remarks>
/// <code>
/// forward(x):
///   if ObserverEnabled:  observer(x.detach()); (scale, zero_point) = observer.CalculateQParams()
///   if FakeQuantEnabled: x = FakeQuant.PerTensorAffine(x, scale, zero_point, quant_min, quant_max)   // or per channel
///   return x
/// </code>
/// The buffers <c>scale</c>, <c>zero_point</c>, <c>fake_quant_enabled</c>, <c>observer_enabled</c> and the observer's
/// <c>min_val</c>/<c>max_val</c> travel in the module's state dict under PyTorch's names.
/// </remarks>
public sealed class FakeQuantize : FakeQuantizeBase, IQuantStateResizable
{
    [ComponentName(Name = "activation_post_process")]
    private readonly ObserverBase _observer;

    [ComponentName(Name = "fake_quant_enabled")]
    private Tensor _fakeQuantEnabled;

    [ComponentName(Name = "observer_enabled")]
    private Tensor _observerEnabled;

    [ComponentName(Name = "scale")]
    private Tensor _scale;

    [ComponentName(Name = "zero_point")]
    private Tensor _zeroPoint;

    /// <summary>Creates the module with a new observer from <paramref name="observer"/>.</summary>
    /// <param name="observer">The observer factory (default: <see cref="MovingAverageMinMaxObserver"/> with its defaults).</param>
    /// <param name="quantMin">Custom lower end of the range, given with <paramref name="quantMax"/>; must fit the observer's dtype.</param>
    /// <param name="quantMax">Custom upper end of the range.</param>
    /// <exception cref="ArgumentException">The range is reversed or outside the dtype, or the observer's arguments are invalid.</exception>
    public FakeQuantize(ObserverFactory? observer = null, int? quantMin = null, int? quantMax = null)
        : base(nameof(FakeQuantize))
    {
        observer ??= MovingAverageMinMaxObserver.WithArgs();
        if (quantMin is int qmin && quantMax is int qmax)
        {
            var dtype = observer.Args.Dtype ?? QuantDType.QUInt8;
            QParamsCheck.Range(qmin, qmax);
            QParamsCheck.FitsDtype(qmin, qmax, dtype);
            observer = observer.WithArgs(quantMin: qmin, quantMax: qmax);
        }
        else if (quantMin.HasValue != quantMax.HasValue)
        {
            throw new ArgumentException($"quantMin ({Guard.Format(quantMin)}) and quantMax ({Guard.Format(quantMax)}) must be given together.",
                quantMin.HasValue ? nameof(quantMax) : nameof(quantMin));
        }

        _observer = observer.CreateObserver();
        _fakeQuantEnabled = ModuleBuffers.Create(new byte[] { 1 }, 1);
        _observerEnabled = ModuleBuffers.Create(new byte[] { 1 }, 1);
        _scale = ModuleBuffers.Create(new[] { 1f }, 1);
        _zeroPoint = ModuleBuffers.Create(new[] { 0 }, 1);
        RegisterComponents();
    }

    /// <summary>A factory for FakeQuantize (PyTorch: <c>FakeQuantize.with_args(...)</c>); observer arguments are passed on to the observer.</summary>
    /// <param name="observer">The observer factory (default MovingAverageMinMaxObserver).</param>
    /// <param name="quantMin">Custom lower end of the range.</param>
    /// <param name="quantMax">Custom upper end of the range.</param>
    /// <param name="dtype">The observer's dtype.</param>
    /// <param name="qscheme">The observer's scheme.</param>
    /// <param name="reduceRange">The observer's reduce_range.</param>
    /// <param name="eps">The observer's eps.</param>
    /// <param name="averagingConstant">The observer's averaging constant (moving-average observers).</param>
    /// <param name="chAxis">The observer's channel axis (per-channel observers).</param>
    public static FakeQuantizeFactory WithArgs(ObserverFactory? observer = null, int? quantMin = null, int? quantMax = null,
        QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null, float? eps = null, float? averagingConstant = null,
        int? chAxis = null)
        => new FakeQuantizeFactory(MovingAverageMinMaxObserver.WithArgs(), null, null)
            .WithArgs(observer, quantMin, quantMax, dtype, qscheme, reduceRange, eps, averagingConstant, chAxis);

    /// <inheritdoc />
    public override ObserverBase ActivationPostProcess => _observer;

    /// <summary>The current scale: one element, or one per channel (PyTorch buffer <c>scale</c>).</summary>
    public Tensor Scale => _scale;

    /// <summary>The current zero point, int32 (PyTorch buffer <c>zero_point</c>).</summary>
    public Tensor ZeroPoint => _zeroPoint;

    /// <inheritdoc />
    public override int QuantMin => _observer.QuantMin;

    /// <inheritdoc />
    public override int QuantMax => _observer.QuantMax;

    /// <summary>Whether forward updates the observer and the qparams (PyTorch buffer <c>observer_enabled</c>).</summary>
    public override bool ObserverEnabled
    {
        get => ModuleBuffers.ReadFlag(_observerEnabled);
        set => ModuleBuffers.WriteFlag(ref _observerEnabled, value, t => ConditionallyRegisterBuffer("observer_enabled", t));
    }

    /// <summary>Whether forward fake-quantizes (PyTorch buffer <c>fake_quant_enabled</c>); when false the input passes unchanged.</summary>
    public override bool FakeQuantEnabled
    {
        get => ModuleBuffers.ReadFlag(_fakeQuantEnabled);
        set => ModuleBuffers.WriteFlag(ref _fakeQuantEnabled, value, t => ConditionallyRegisterBuffer("fake_quant_enabled", t));
    }

    /// <summary>The observer's qparams, as arrays (what Convert uses, PyTorch's <c>calculate_qparams</c>).</summary>
    internal override (float[] Scales, int[] ZeroPoints) CalculateQParamsArrays() => _observer.CalculateQParamsArrays();

    /// <summary>The observer's current qparams (PyTorch: <c>calculate_qparams</c>).</summary>
    public (Tensor Scale, Tensor ZeroPoint) CalculateQParams() => _observer.CalculateQParams();

    /// <summary>Observes (when enabled) and fake-quantizes (when enabled) <paramref name="x"/>.</summary>
    public override Tensor forward(Tensor x)
    {
        if (ObserverEnabled)
        {
            using (var scope = NewDisposeScope())
                _observer.forward(x.detach());
            var (scales, zeroPoints) = _observer.CalculateQParamsArrays();
            var shape = new long[] { scales.Length };
            ModuleBuffers.Write(ref _scale, scales, shape, t => ConditionallyRegisterBuffer("scale", t));
            ModuleBuffers.Write(ref _zeroPoint, zeroPoints, shape, t => ConditionallyRegisterBuffer("zero_point", t));
        }
        if (!FakeQuantEnabled)
            return x.alias(); // a new handle: TorchSharp's Sequential disposes each intermediate result
        return IsPerChannel
            ? FakeQuant.PerChannelAffine(x, TensorMemory.ToFloatArray(_scale), TensorMemory.ToInt32Array(_zeroPoint), ChAxis, QuantMin, QuantMax)
            : FakeQuant.PerTensorAffine(x, ModuleBuffers.Read<float>(_scale), ModuleBuffers.Read<int>(_zeroPoint), QuantMin, QuantMax);
    }

    /// <summary>Loads state, first resizing the scale, zero point and observer buffers to the saved shapes (PyTorch's <c>_load_from_state_dict</c>).</summary>
    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        QuantizationState.ResizeBuffersToMatch(this, source);
        return base.load_state_dict(source, strict, skip);
    }

    void IQuantStateResizable.ResizeBuffersFor(IReadOnlyDictionary<string, Tensor> source, string prefix)
    {
        if (source.TryGetValue(prefix + "scale", out var scale) && !scale.shape.SequenceEqual(_scale.shape))
            ModuleBuffers.Write(ref _scale, new float[scale.numel()], scale.shape, t => ConditionallyRegisterBuffer("scale", t));
        if (source.TryGetValue(prefix + "zero_point", out var zeroPoint) && !zeroPoint.shape.SequenceEqual(_zeroPoint.shape))
            ModuleBuffers.Write(ref _zeroPoint, new int[zeroPoint.numel()], zeroPoint.shape, t => ConditionallyRegisterBuffer("zero_point", t));
    }

    /// <inheritdoc />
    public override string ToString()
        => $"FakeQuantize(fake_quant_enabled={FakeQuantEnabled}, observer_enabled={ObserverEnabled}, quant_min={QuantMin}, quant_max={QuantMax}, " +
           $"dtype={Dtype.TorchName()}, qscheme={QScheme.TorchName()}, ch_axis={ChAxis})";
}
