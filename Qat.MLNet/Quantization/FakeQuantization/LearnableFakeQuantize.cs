using Qat.MLNet.Internal;
using Qat.MLNet.Quantization.Observers;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Fake quantization whose scale and zero point are learned by gradient descent (LSQ; PyTorch 1.13:
/// <c>torch.ao.quantization._learnable_fake_quantize._LearnableFakeQuantize</c>). It starts as an observer-driven
/// fake-quantize (static estimate: the observer sets scale and zero point from the data); <see cref="EnableParamLearning"/>
/// then stops the observer and lets the loss move <see cref="Scale"/> and <see cref="ZeroPoint"/>, which are parameters,
/// with the gradients of <c>torch._fake_quantize_learnable_per_tensor_affine</c> / <c>_per_channel_affine</c>
/// (<see cref="FakeQuant.LearnablePerTensorAffine"/>), scaled by <c>1 / sqrt(numel x quant_max)</c> with
/// <see cref="UseGradScaling"/> (the LSQ paper's factor).
/// </summary>
/// <remarks>
/// <code>
/// forward(x):
///   if static_enabled: observer(x.detach()); scale, zero_point = observer.calculate_qparams()   (copied into the parameters)
///   else:              scale = max(scale, eps)
///   if fake_quant_enabled:
///     if symmetric: zero_point = 0
///     x = learnable_fake_quantize(x, scale, zero_point, quant_min, quant_max, grad_factor)
/// </code>
/// State dict under PyTorch's names: parameters <c>scale</c>, <c>zero_point</c>; buffers <c>fake_quant_enabled</c>,
/// <c>static_enabled</c>, <c>learning_enabled</c>, <c>eps</c>; the observer's under <c>activation_post_process</c>.
/// One difference: a per-channel module made without a channel count (as a qconfig's weight factory makes it) is sized
/// by the QAT layer it belongs to when that layer is built, before any optimizer sees its parameters.
/// </remarks>
public sealed class LearnableFakeQuantize : FakeQuantizeBase, IQuantStateResizable
{
    [ComponentName(Name = "activation_post_process")]
    private readonly ObserverBase _observer;

    [ComponentName(Name = "scale")]
    private Parameter _scale;

    [ComponentName(Name = "zero_point")]
    private Parameter _zeroPoint;

    [ComponentName(Name = "fake_quant_enabled")]
    private Tensor _fakeQuantEnabled;

    [ComponentName(Name = "static_enabled")]
    private Tensor _staticEnabled;

    [ComponentName(Name = "learning_enabled")]
    private Tensor _learningEnabled;

    [ComponentName(Name = "eps")]
    private readonly Tensor _eps;

    private readonly int _quantMin, _quantMax;
    private readonly float _initialScale, _initialZeroPoint;

    /// <summary>Creates the module (PyTorch: <c>_LearnableFakeQuantize(observer, quant_min, quant_max, scale, zero_point, channel_len, use_grad_scaling)</c>).</summary>
    /// <param name="observer">The observer factory (default <see cref="MovingAverageMinMaxObserver"/>); it is given this range.</param>
    /// <param name="quantMin">The lower end of the integer range. Default 0.</param>
    /// <param name="quantMax">The upper end of the integer range. Default 255.</param>
    /// <param name="scale">The initial scale. Default 1.</param>
    /// <param name="zeroPoint">The initial zero point. Default 0.</param>
    /// <param name="channelLength">Channels of a per-channel scheme; -1 for per tensor (or, per channel, sized later by its QAT layer).</param>
    /// <param name="useGradScaling">Scale the gradients of scale and zero point by <c>1 / sqrt(numel x quant_max)</c>.</param>
    /// <exception cref="ArgumentException">The range is reversed or outside the observer's dtype, or a value is invalid.</exception>
    public LearnableFakeQuantize(ObserverFactory? observer = null, int quantMin = 0, int quantMax = 255, float scale = 1f, float zeroPoint = 0f,
        int channelLength = -1, bool useGradScaling = false)
        : base(nameof(LearnableFakeQuantize))
    {
        Guard.Require(quantMin < quantMax, nameof(quantMin), quantMin, $"must be strictly less than quantMax ({quantMax}).");
        Guard.Require(channelLength == -1 || channelLength > 0, nameof(channelLength), channelLength, "must be positive, or -1 for per tensor.");
        Guard.Require(float.IsFinite(scale) && scale > 0, nameof(scale), scale, "must be positive and finite.");
        Guard.Require(float.IsFinite(zeroPoint), nameof(zeroPoint), zeroPoint, "must be finite.");
        observer ??= MovingAverageMinMaxObserver.WithArgs();
        var dtype = observer.Args.Dtype ?? QuantDType.QUInt8;
        QParamsCheck.FitsDtype(quantMin, quantMax, dtype);
        _observer = observer.WithArgs(quantMin: quantMin, quantMax: quantMax).CreateObserver();
        (_quantMin, _quantMax, _initialScale, _initialZeroPoint) = (quantMin, quantMax, scale, zeroPoint);
        UseGradScaling = useGradScaling;
        int length = channelLength == -1 ? 1 : channelLength;
        // Parameters require gradients from the start, as PyTorch's do (toggle_qparam_learning(false) turns that off).
        _scale = new Parameter(tensor(Enumerable.Repeat(scale, length).ToArray(), [length]), requires_grad: true);
        _zeroPoint = new Parameter(tensor(Enumerable.Repeat(zeroPoint, length).ToArray(), [length]), requires_grad: true);
        _fakeQuantEnabled = ModuleBuffers.Create(new byte[] { 1 }, 1);
        _staticEnabled = ModuleBuffers.Create(new byte[] { 1 }, 1);
        _learningEnabled = ModuleBuffers.Create(new byte[] { 0 }, 1);
        _eps = ModuleBuffers.Create(new[] { 1.1920929E-07f }, 1); // torch.finfo(torch.float32).eps
        RegisterComponents();
    }

    /// <summary>A factory for the module (PyTorch: <c>_LearnableFakeQuantize.with_args(...)</c>).</summary>
    /// <param name="observer">The observer factory (default MovingAverageMinMaxObserver).</param>
    /// <param name="quantMin">The lower end of the range. Default 0.</param>
    /// <param name="quantMax">The upper end of the range. Default 255.</param>
    /// <param name="useGradScaling">Scale the qparams' gradients (LSQ). Default false.</param>
    /// <param name="channelLength">Channels of a per-channel scheme, or -1. Default -1.</param>
    /// <param name="dtype">The observer's dtype.</param>
    /// <param name="qscheme">The observer's scheme.</param>
    /// <param name="reduceRange">The observer's reduce_range.</param>
    /// <param name="averagingConstant">The observer's averaging constant (moving-average observers).</param>
    /// <param name="chAxis">The observer's channel axis (per-channel observers).</param>
    public static LearnableFakeQuantizeFactory WithArgs(ObserverFactory? observer = null, int? quantMin = null, int? quantMax = null, bool? useGradScaling = null,
        int? channelLength = null, QuantDType? dtype = null, QScheme? qscheme = null, bool? reduceRange = null, float? averagingConstant = null, int? chAxis = null)
        => new LearnableFakeQuantizeFactory(MovingAverageMinMaxObserver.WithArgs(), 0, 255, false, -1)
            .WithArgs(observer, quantMin, quantMax, useGradScaling, channelLength, dtype, qscheme, reduceRange, averagingConstant, chAxis);

    /// <inheritdoc />
    public override ObserverBase ActivationPostProcess => _observer;

    /// <summary>The scale, learned once <see cref="EnableParamLearning"/> is called (PyTorch parameter <c>scale</c>).</summary>
    public Parameter Scale => _scale;

    /// <summary>The zero point as a float, learned with the scale (PyTorch parameter <c>zero_point</c>); rounded when used.</summary>
    public Parameter ZeroPoint => _zeroPoint;

    /// <inheritdoc />
    public override int QuantMin => _quantMin;

    /// <inheritdoc />
    public override int QuantMax => _quantMax;

    /// <summary>Whether the qparams' gradients are scaled by <c>1 / sqrt(numel x quant_max)</c>.</summary>
    public bool UseGradScaling { get; }

    /// <summary>Whether the observer sets the qparams from the data (PyTorch buffer <c>static_enabled</c>; <c>enable_observer</c> toggles it).</summary>
    public override bool ObserverEnabled
    {
        get => ModuleBuffers.ReadFlag(_staticEnabled);
        set => ModuleBuffers.WriteFlag(ref _staticEnabled, value, t => ConditionallyRegisterBuffer("static_enabled", t));
    }

    /// <summary>Whether forward fake-quantizes (PyTorch buffer <c>fake_quant_enabled</c>).</summary>
    public override bool FakeQuantEnabled
    {
        get => ModuleBuffers.ReadFlag(_fakeQuantEnabled);
        set => ModuleBuffers.WriteFlag(ref _fakeQuantEnabled, value, t => ConditionallyRegisterBuffer("fake_quant_enabled", t));
    }

    /// <summary>Whether scale and zero point take gradients (PyTorch buffer <c>learning_enabled</c>).</summary>
    public bool LearningEnabled => ModuleBuffers.ReadFlag(_learningEnabled);

    /// <inheritdoc />
    public override bool HasQParams => _observer.HasObserved || LearningEnabled;

    /// <summary>Learns scale and zero point from now on: learning on, fake quantization on, observer off (PyTorch: <c>enable_param_learning</c>).</summary>
    public void EnableParamLearning()
    {
        ToggleQParamLearning(true);
        FakeQuantEnabled = true;
        ObserverEnabled = false;
    }

    /// <summary>The observer sets scale and zero point: learning off, fake quantization on, observer on (PyTorch: <c>enable_static_estimate</c>).</summary>
    public void EnableStaticEstimate()
    {
        ToggleQParamLearning(false);
        FakeQuantEnabled = true;
        ObserverEnabled = true;
    }

    /// <summary>The observer only watches: learning off, fake quantization off, observer on (PyTorch: <c>enable_static_observation</c>).</summary>
    public void EnableStaticObservation()
    {
        ToggleQParamLearning(false);
        FakeQuantEnabled = false;
        ObserverEnabled = true;
    }

    /// <summary>Turns learning of scale and zero point on or off (PyTorch: <c>toggle_qparam_learning</c>, which sets <c>requires_grad</c>).</summary>
    public void ToggleQParamLearning(bool enabled)
    {
        ModuleBuffers.WriteFlag(ref _learningEnabled, enabled, t => ConditionallyRegisterBuffer("learning_enabled", t));
        _scale.requires_grad_(enabled);
        _zeroPoint.requires_grad_(enabled);
    }

    /// <summary>The qparams Convert uses (PyTorch: <c>calculate_qparams</c>): the scale (at least eps) and the zero point rounded half to even and clamped.</summary>
    public (Tensor Scale, Tensor ZeroPoint) CalculateQParams()
    {
        var (scales, zeroPoints) = CalculateQParamsArrays();
        return (tensor(scales, [scales.Length]), tensor(zeroPoints.Select(z => (long)z).ToArray(), [zeroPoints.Length]));
    }

    internal override (float[] Scales, int[] ZeroPoints) CalculateQParamsArrays()
    {
        float eps = ModuleBuffers.Read<float>(_eps);
        var scales = TensorMemory.ToFloatArray(_scale).Select(s => Math.Max(s, eps)).ToArray();
        var zeroPoints = TensorMemory.ToFloatArray(_zeroPoint).Select(z => (int)Math.Clamp(MathF.Round(z, MidpointRounding.ToEven), _quantMin, _quantMax)).ToArray();
        return (scales, zeroPoints);
    }

    /// <summary>
    /// Sizes a per-channel module for <paramref name="channels"/> channels (initial scale and zero point), when it was made
    /// without a channel count; the QAT layer that owns the module calls this while it is built.
    /// </summary>
    internal void EnsureChannels(long channels)
    {
        if (!IsPerChannel || _scale.numel() == channels)
            return;
        Replace(Enumerable.Repeat(_initialScale, (int)channels).ToArray(), Enumerable.Repeat(_initialZeroPoint, (int)channels).ToArray());
    }

    /// <summary>Observes (static estimate) and fake-quantizes <paramref name="x"/> with the learnable function.</summary>
    public override Tensor forward(Tensor x)
    {
        using (no_grad())
        {
            if (ObserverEnabled)
            {
                using (NewDisposeScope())
                    _observer.forward(x.detach());
                var (scales, zeroPoints) = _observer.CalculateQParamsArrays();
                if (scales.Length != _scale.numel())
                    Replace(scales, zeroPoints.Select(z => (float)z).ToArray());
                else
                    Copy(scales, zeroPoints.Select(z => (float)z).ToArray());
            }
            else
            {
                using Scalar eps = ModuleBuffers.Read<float>(_eps).ToScalar();
                _scale.clamp_(eps);
            }
        }
        if (!FakeQuantEnabled)
            return x.alias(); // a new handle: TorchSharp's Sequential disposes each intermediate result
        if (QScheme.IsSymmetric())
        {
            using (no_grad())
                _zeroPoint.zero_();
        }
        // PyTorch computes the factor in double and its kernel takes it as float.
        float gradFactor = UseGradScaling ? (float)(1.0 / Math.Sqrt((double)x.numel() * _quantMax)) : 1f;
        return IsPerChannel
            ? FakeQuant.LearnablePerChannelAffine(x, _scale, _zeroPoint, ChAxis, _quantMin, _quantMax, gradFactor)
            : FakeQuant.LearnablePerTensorAffine(x, _scale, _zeroPoint, _quantMin, _quantMax, gradFactor);
    }

    private void Copy(float[] scales, float[] zeroPoints)
    {
        using var scope = NewDisposeScope();
        _scale.copy_(tensor(scales, [scales.Length]));
        _zeroPoint.copy_(tensor(zeroPoints, [zeroPoints.Length]));
    }

    private void Replace(float[] scales, float[] zeroPoints)
    {
        bool requiresGrad = _scale.requires_grad;
        _scale = new Parameter(tensor(scales, [scales.Length]), requires_grad: requiresGrad);
        _zeroPoint = new Parameter(tensor(zeroPoints, [zeroPoints.Length]), requires_grad: requiresGrad);
        ConditionallyRegisterParameter("scale", _scale);
        ConditionallyRegisterParameter("zero_point", _zeroPoint);
    }

    /// <summary>Loads state, first resizing scale and zero point to the saved shapes.</summary>
    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        QuantizationState.ResizeBuffersToMatch(this, source);
        return base.load_state_dict(source, strict, skip);
    }

    void IQuantStateResizable.ResizeBuffersFor(IReadOnlyDictionary<string, Tensor> source, string prefix)
    {
        if (source.TryGetValue(prefix + "scale", out var scale) && scale.numel() != _scale.numel())
            Replace(new float[scale.numel()], new float[scale.numel()]);
    }

    /// <inheritdoc />
    public override string ToString()
        => $"LearnableFakeQuantize(fake_quant_enabled={FakeQuantEnabled}, static_enabled={ObserverEnabled}, learning_enabled={LearningEnabled}, " +
           $"quant_min={QuantMin}, quant_max={QuantMax}, dtype={Dtype.TorchName()}, qscheme={QScheme.TorchName()}, ch_axis={ChAxis}, use_grad_scaling={UseGradScaling})";
}
