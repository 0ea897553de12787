using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// A weighted layer kept in float inside a quantized model (mixed precision), made by <see cref="Quantizer.PrepareQat"/>
/// for a Linear, Conv2d or fused float layer whose qconfig is null. It runs the float layer, then its
/// <see cref="ActivationPostProcess"/> fake-quantizes the output, so that the int8 layers after it learn the scale they
/// will receive (PyTorch eager mode needs a hand-placed DeQuantStub / QuantStub pair around such a layer; this is that
/// pair, placed for you). <see cref="Quantizer.Convert"/> turns it into a float layer of the engine, which dequantizes its
/// input, computes in float and quantizes with these qparams. Children: <c>module</c> and <c>activation_post_process</c>.
/// </summary>
public sealed class FloatFallback : nn.Module<Tensor, Tensor>, IHasActivationPostProcess
{
    /// <summary>Wraps <paramref name="module"/> (not copied).</summary>
    /// <param name="module">A float Linear, Conv2d, or one of the fused float layers of <see cref="Intrinsic"/>.</param>
    public FloatFallback(nn.Module<Tensor, Tensor> module) : base(nameof(FloatFallback))
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        register_module("module", module);
    }

    /// <summary>The float layer.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor>? ActivationPostProcess { get; private set; }

    /// <inheritdoc />
    public void AttachActivationPostProcess(nn.Module<Tensor, Tensor> module)
    {
        ActivationPostProcessSlot.Attach(this, ActivationPostProcess, module);
        register_module(ActivationPostProcessSlot.Name, module);
        ActivationPostProcess = module;
    }

    /// <summary>The float layer's output, fake-quantized once an activation post-process is attached.</summary>
    public override Tensor forward(Tensor input)
    {
        if (ActivationPostProcess is null)
            return Module.call(input);
        using var scope = NewDisposeScope();
        return ActivationPostProcess.call(Module.call(input)).MoveToOuterDisposeScope();
    }
}
