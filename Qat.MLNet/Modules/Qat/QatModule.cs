using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>
/// The common part of the QAT modules (PyTorch: <c>torch.ao.nn.qat</c> and <c>torch.ao.nn.intrinsic.qat</c>): the
/// configuration they were made with, the weight and bias (shared with the float module they came from), the weight
/// fake-quantize (<c>weight_fake_quant</c>) and the optional output fake-quantize (<c>activation_post_process</c>) that
/// PrepareQat attaches.
/// </summary>
public abstract class QatModule : nn.Module<Tensor, Tensor>, IHasActivationPostProcess
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter? _bias;

    [ComponentName(Name = "weight_fake_quant")]
    private readonly nn.Module<Tensor, Tensor> _weightFakeQuant;

    /// <summary>Keeps the parameters and creates the weight fake-quantize from <paramref name="qconfig"/>; derived classes call RegisterComponents.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="qconfig"/> or <paramref name="weight"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="bias"/> does not have one value per output channel.</exception>
    private protected QatModule(string name, QConfig qconfig, Parameter weight, Parameter? bias) : base(name)
    {
        QConfig = qconfig ?? throw new ArgumentNullException(nameof(qconfig),
            $"{name} needs a qconfig, e.g. QConfig.GetDefaultQat(QuantBackend.Fbgemm).");
        _weight = weight ?? throw new ArgumentNullException(nameof(weight));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"bias must be [{weight.shape[0]}], got [{string.Join(", ", bias.shape)}].", nameof(bias));
        _bias = bias;
        _weightFakeQuant = qconfig.Weight.Create();
        // A learnable per-channel weight quantizer gets one scale per output channel now, before any optimizer holds its parameters.
        if (_weightFakeQuant is LearnableFakeQuantize learnable && learnable.ChAxis >= 0)
            learnable.EnsureChannels(weight.shape[learnable.ChAxis]);
    }

    /// <summary>The weight (PyTorch: <c>weight</c>), shared with the float module.</summary>
    public Parameter Weight => _weight;

    /// <summary>The bias, or null (PyTorch: <c>bias</c>), shared with the float module.</summary>
    public Parameter? Bias => _bias;

    /// <summary>The configuration this module was made with (PyTorch: <c>qconfig</c>).</summary>
    public QConfig QConfig { get; }

    /// <summary>The weight fake-quantize (PyTorch: <c>weight_fake_quant</c>).</summary>
    public nn.Module<Tensor, Tensor> WeightFakeQuant => _weightFakeQuant;

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor>? ActivationPostProcess { get; private set; }

    /// <inheritdoc />
    public void AttachActivationPostProcess(nn.Module<Tensor, Tensor> module)
    {
        ActivationPostProcessSlot.Attach(this, ActivationPostProcess, module);
        register_module(ActivationPostProcessSlot.Name, module);
        ActivationPostProcess = module;
    }

    /// <summary>Applies the activation post-process, if attached, to a forward result.</summary>
    private protected Tensor PostProcess(Tensor output) => ActivationPostProcess is null ? output : ActivationPostProcess.call(output);

    /// <summary>Checks that a float module to convert is the expected type and that a qconfig is given.</summary>
    private protected static T ExpectFloat<T>(nn.Module module, QConfig? qconfig, string qatName) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (module.GetType() != typeof(T))
            throw new ArgumentException(
                $"{qatName}.FromFloat expects a {typeof(T).FullName}, got {module.GetType().FullName}.", nameof(module));
        if (qconfig is null)
            throw new ArgumentNullException(nameof(qconfig),
                $"{qatName}.FromFloat needs a qconfig: pass one (e.g. QConfig.GetDefaultQat(QuantBackend.Fbgemm)) or use Quantizer.PrepareQat, which propagates it.");
        return (T)module;
    }
}
