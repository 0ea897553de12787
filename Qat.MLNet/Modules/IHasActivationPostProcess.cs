using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// A module whose output is observed and fake-quantized by a child named <c>activation_post_process</c> (PyTorch
/// attaches it in <c>prepare</c> and calls it from a forward hook; here the module calls it at the end of forward).
/// </summary>
public interface IHasActivationPostProcess
{
    /// <summary>The attached post-process (usually a FakeQuantize), or null before <c>PrepareQat</c>.</summary>
    nn.Module<Tensor, Tensor>? ActivationPostProcess { get; }

    /// <summary>Attaches the post-process as the child <c>activation_post_process</c>; once only.</summary>
    /// <exception cref="InvalidOperationException">One is attached already.</exception>
    void AttachActivationPostProcess(nn.Module<Tensor, Tensor> module);
}
