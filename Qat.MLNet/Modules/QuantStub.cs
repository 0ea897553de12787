using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Marks where a model's float input becomes quantized (PyTorch: <c>torch.ao.quantization.QuantStub</c>). Before
/// <c>PrepareQat</c> it passes its input through; after, it applies its <see cref="ActivationPostProcess"/> (a
/// FakeQuantize that learns the input's scale and zero point); <c>Convert</c> turns it into the input quantizer.
/// </summary>
public sealed class QuantStub : nn.Module<Tensor, Tensor>, IHasActivationPostProcess
{
    /// <summary>Creates the stub.</summary>
    public QuantStub() : base(nameof(QuantStub))
    {
    }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor>? ActivationPostProcess { get; private set; }

    /// <inheritdoc />
    public void AttachActivationPostProcess(nn.Module<Tensor, Tensor> module)
    {
        ActivationPostProcessSlot.Attach(this, ActivationPostProcess, module);
        register_module(ActivationPostProcessSlot.Name, module);
        ActivationPostProcess = module;
    }

    /// <summary>Returns the input (as a new handle), fake-quantized once an activation post-process is attached.</summary>
    // A new handle, never the input object itself: TorchSharp's Sequential disposes each intermediate result.
    public override Tensor forward(Tensor input) => ActivationPostProcess is null ? input.alias() : ActivationPostProcess.call(input);
}
