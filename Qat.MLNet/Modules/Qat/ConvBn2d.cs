using Qat.MLNet.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// The QAT form of a fused Conv2d + BatchNorm2d (PyTorch: <c>torch.ao.nn.intrinsic.qat.ConvBn2d</c>). It simulates the
/// BatchNorm folding that Convert will do, so training sees the weights the int8 model will use:
/// <code>
/// s      = bn.weight / sqrt(bn.running_var + bn.eps)          // per output channel
/// conv   = conv2d(x, fq(W * s), 0) / s  (+ b)
/// y      = bn(conv)                                         // batch statistics in training, running ones when frozen
/// </code>
/// (PyTorch's <c>_forward_approximate</c>.) <see cref="FreezeBatchNormStats"/> stops updating the running statistics.
/// </summary>
public class ConvBn2d : QatModule
{
    [ComponentName(Name = "bn")]
    private readonly BatchNorm2d _bn;

    /// <summary>Creates the layer over existing parameters and BatchNorm (shared, not copied).</summary>
    /// <param name="geometry">Stride, padding, dilation and groups.</param>
    /// <param name="weight">The convolution weight.</param>
    /// <param name="bias">The convolution bias, or null.</param>
    /// <param name="bn">The BatchNorm2d that follows; affine, with running statistics.</param>
    /// <param name="qconfig">The configuration.</param>
    public ConvBn2d(ConvGeometry geometry, Parameter weight, Parameter? bias, BatchNorm2d bn, QConfig qconfig)
        : this(nameof(ConvBn2d), geometry, weight, bias, bn, qconfig)
    {
    }

    private protected ConvBn2d(string name, ConvGeometry geometry, Parameter weight, Parameter? bias, BatchNorm2d bn, QConfig qconfig)
        : base(name, qconfig, weight, bias)
    {
        Geometry = geometry ?? throw new ArgumentNullException(nameof(geometry));
        ArgumentNullException.ThrowIfNull(bn);
        if (bn.num_features != geometry.OutChannels)
            throw new ArgumentException($"bn has {bn.num_features} features but the convolution has {geometry.OutChannels} output channels.", nameof(bn));
        if (!bn.affine || !bn.track_running_stats || bn.weight is null || bn.running_var is null)
            throw new ArgumentException("bn must be affine and track running statistics (the defaults of nn.BatchNorm2d) to be folded.", nameof(bn));
        _bn = bn;
        RegisterComponents();
    }

    /// <summary>Makes the QAT layer from a fused <see cref="Intrinsic.ConvBn2d"/>, sharing its parameters and BatchNorm.</summary>
    /// <exception cref="ArgumentException">The module is not an Intrinsic.ConvBn2d, or the BatchNorm cannot be folded.</exception>
    /// <exception cref="ArgumentNullException">No qconfig.</exception>
    public static ConvBn2d FromFloat(nn.Module module, QConfig qconfig)
    {
        var fused = ExpectFloat<Intrinsic.ConvBn2d>(module, qconfig, "Qat.ConvBn2d");
        return new ConvBn2d(ConvGeometry.Of(fused.Conv), fused.Conv.weight, fused.Conv.bias, fused.BatchNorm, qconfig);
    }

    /// <summary>Stride, padding, dilation and groups.</summary>
    public ConvGeometry Geometry { get; }

    /// <summary>The BatchNorm (PyTorch: <c>bn</c>).</summary>
    public BatchNorm2d BatchNorm => _bn;

    /// <summary>Whether the BatchNorm statistics are frozen (PyTorch: <c>freeze_bn</c>).</summary>
    public bool IsBatchNormFrozen { get; private set; }

    /// <summary>Stops updating the running statistics: BatchNorm runs as in eval mode (PyTorch: <c>freeze_bn_stats</c>).</summary>
    public void FreezeBatchNormStats()
    {
        IsBatchNormFrozen = true;
        _bn.eval();
    }

    /// <summary>Updates the running statistics again (PyTorch: <c>update_bn_stats</c>).</summary>
    public void UpdateBatchNormStats()
    {
        IsBatchNormFrozen = false;
        _bn.train(training);
    }

    /// <summary>Sets training mode; a frozen BatchNorm stays in eval mode (PyTorch's <c>_ConvBnNd.train</c>).</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        if (IsBatchNormFrozen)
            _bn.eval();
    }

    /// <summary>The BatchNorm-folded fake-quantized convolution, the fused activation, then the activation post-process.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // Explicit Scalars held by `using`: TorchSharp's implicit ones can be finalized during the native call (see ParameterUpdater).
        using Scalar eps = _bn.eps.ToScalar(), one = 1.ToScalar();
        var runningStd = _bn.running_var!.add(eps, one).sqrt();
        var scaleFactor = _bn.weight! / runningStd;
        var scaledWeight = WeightFakeQuant.call(Weight * scaleFactor.reshape(-1, 1, 1, 1));
        var zeroBias = zeros(Geometry.OutChannels, dtype: input.dtype);
        var conv = Geometry.Apply(input, scaledWeight, zeroBias);
        var convOrig = conv / scaleFactor.reshape(1, -1, 1, 1);
        if (Bias is not null)
            convOrig = convOrig.add(Bias.reshape(1, -1, 1, 1), one);
        var y = _bn.call(convOrig);
        return PostProcess(Activate(y)).MoveToOuterDisposeScope();
    }

    /// <summary>The fused activation: none here, ReLU in <see cref="ConvBnReLU2d"/>.</summary>
    private protected virtual Tensor Activate(Tensor y) => y;

    /// <summary>A float <see cref="Intrinsic.ConvBn2d"/> sharing these parameters and BatchNorm.</summary>
    public virtual nn.Module<Tensor, Tensor> ToFloat() => new Intrinsic.ConvBn2d(Geometry.ToFloat(Weight, Bias), _bn);
}
