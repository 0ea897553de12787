using Qat.MLNet.Quantization.Observers;

namespace Qat.MLNet.Quantization;

/// <summary>
/// How a module's activations and weights are quantized (PyTorch: <c>torch.ao.quantization.QConfig</c>): two
/// factories, each called once per module that needs an observer or fake-quantize. Factories, never instances, so that
/// every layer gets its own statistics.
/// </summary>
public sealed class QConfig
{
    /// <summary>Creates the configuration and checks that both factories make valid modules.</summary>
    /// <param name="activation">Makes the activation observer/fake-quantize (e.g. <c>FakeQuantize.WithArgs(...)</c>).</param>
    /// <param name="weight">Makes the weight observer/fake-quantize.</param>
    /// <exception cref="ArgumentNullException">A factory is null.</exception>
    /// <exception cref="ArgumentException">A factory's arguments are invalid (the message names them).</exception>
    public QConfig(QuantizerFactory activation, QuantizerFactory weight)
    {
        Activation = activation ?? throw new ArgumentNullException(nameof(activation),
            "activation must be a factory such as FakeQuantize.WithArgs(...) or MinMaxObserver.WithArgs(), not null.");
        Weight = weight ?? throw new ArgumentNullException(nameof(weight),
            "weight must be a factory such as FakeQuantize.WithArgs(...) or MinMaxObserver.WithArgs(), not null.");
        // Fail here, where the configuration is written, rather than deep inside PrepareQat.
        activation.Create().Dispose();
        weight.Create().Dispose();
    }

    /// <summary>The activation factory (PyTorch: <c>qconfig.activation</c>).</summary>
    public QuantizerFactory Activation { get; }

    /// <summary>The weight factory (PyTorch: <c>qconfig.weight</c>).</summary>
    public QuantizerFactory Weight { get; }

    /// <summary>PyTorch's <c>default_fake_quant</c>: quint8 affine activations, [0, 255] with reduce_range (so [0, 127]).</summary>
    public static FakeQuantizeFactory DefaultFakeQuant { get; } = FakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(),
        quantMin: 0, quantMax: 255, dtype: QuantDType.QUInt8, qscheme: QScheme.PerTensorAffine, reduceRange: true);

    /// <summary>PyTorch's <c>default_weight_fake_quant</c>: per-tensor symmetric qint8 weights in [-128, 127].</summary>
    public static FakeQuantizeFactory DefaultWeightFakeQuant { get; } = FakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(),
        quantMin: -128, quantMax: 127, dtype: QuantDType.QInt8, qscheme: QScheme.PerTensorSymmetric, reduceRange: false);

    /// <summary>PyTorch's <c>default_per_channel_weight_fake_quant</c>: per-channel (axis 0) symmetric qint8 weights in [-128, 127].</summary>
    public static FakeQuantizeFactory DefaultPerChannelWeightFakeQuant { get; } = FakeQuantize.WithArgs(
        MovingAveragePerChannelMinMaxObserver.WithArgs(), quantMin: -128, quantMax: 127, dtype: QuantDType.QInt8,
        qscheme: QScheme.PerChannelSymmetric, reduceRange: false, chAxis: 0);

    /// <summary>
    /// PyTorch 1.13's <c>get_default_qat_qconfig(backend, version=0)</c>:
    /// <list type="bullet">
    /// <item><see cref="QuantBackend.Fbgemm"/>, <see cref="QuantBackend.X86"/>: activations
    /// <c>FakeQuantize(MovingAverageMinMaxObserver, quant_min=0, quant_max=255, reduce_range=True)</c> (effective [0, 127]),
    /// weights <see cref="DefaultPerChannelWeightFakeQuant"/>.</item>
    /// <item><see cref="QuantBackend.Qnnpack"/>: activations the same with <c>reduce_range=False</c> ([0, 255]),
    /// weights <see cref="DefaultWeightFakeQuant"/>.</item>
    /// </list>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown backend.</exception>
    public static QConfig GetDefaultQat(QuantBackend backend) => backend switch
    {
        QuantBackend.Fbgemm or QuantBackend.X86 => new QConfig(
            FakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(), quantMin: 0, quantMax: 255, reduceRange: true),
            DefaultPerChannelWeightFakeQuant),
        QuantBackend.Qnnpack => new QConfig(
            FakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(), quantMin: 0, quantMax: 255, reduceRange: false),
            DefaultWeightFakeQuant),
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "backend must be Fbgemm, Qnnpack or X86."),
    };

    /// <summary>
    /// <see cref="GetDefaultQat"/> with learnable scales and zero points (LSQ): the same observers, ranges and schemes, in
    /// <see cref="LearnableFakeQuantize"/> modules with LSQ's gradient scaling. They start as observer-driven fake-quantizes;
    /// <c>Quantizer.EnableParamLearning</c> (the trainers: when the observers freeze) hands the qparams to the optimizer.
    /// PyTorch 1.13 has no such default: this is what its <c>_LearnableFakeQuantize</c> documentation builds by hand.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown backend.</exception>
    public static QConfig GetDefaultQatLearnable(QuantBackend backend) => backend switch
    {
        // reduce_range for fbgemm: the learnable module takes the effective range itself.
        QuantBackend.Fbgemm or QuantBackend.X86 => new QConfig(
            LearnableFakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(), quantMin: 0, quantMax: 127, useGradScaling: true, dtype: QuantDType.QUInt8, qscheme: QScheme.PerTensorAffine),
            LearnableFakeQuantize.WithArgs(MovingAveragePerChannelMinMaxObserver.WithArgs(), quantMin: -128, quantMax: 127, useGradScaling: true,
                dtype: QuantDType.QInt8, qscheme: QScheme.PerChannelSymmetric, chAxis: 0)),
        QuantBackend.Qnnpack => new QConfig(
            LearnableFakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(), quantMin: 0, quantMax: 255, useGradScaling: true, dtype: QuantDType.QUInt8, qscheme: QScheme.PerTensorAffine),
            LearnableFakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(), quantMin: -128, quantMax: 127, useGradScaling: true,
                dtype: QuantDType.QInt8, qscheme: QScheme.PerTensorSymmetric)),
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "backend must be Fbgemm, Qnnpack or X86."),
    };

    /// <inheritdoc />
    public override string ToString() => $"QConfig(activation: {Activation}, weight: {Weight})";
}
