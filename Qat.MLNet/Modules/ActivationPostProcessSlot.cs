using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>Checks shared by the implementations of <see cref="IHasActivationPostProcess"/>.</summary>
internal static class ActivationPostProcessSlot
{
    /// <summary>PyTorch's child name.</summary>
    public const string Name = "activation_post_process";

    /// <summary>Throws unless <paramref name="current"/> is empty and <paramref name="module"/> is given.</summary>
    public static void Attach(nn.Module owner, nn.Module<Tensor, Tensor>? current, nn.Module<Tensor, Tensor> module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (current is not null)
            throw new InvalidOperationException($"{owner.GetType().Name} already has an activation_post_process: it was prepared twice.");
    }
}
