using Qat.MLNet.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// Checks, before any training, that a float network can go through fusion, PrepareQat and Convert: Sequential chains of
/// the layers the int8 engine runs, with every BatchNorm2d right after a Conv2d (so that fusion folds it).
/// </summary>
internal static class NetworkCheck
{
    /// <exception cref="NotSupportedException">A layer the int8 engine cannot run; the message names it and its path.</exception>
    public static void EnsureConvertible(nn.Module<Tensor, Tensor> network, string description)
    {
        int weighted = Visit(network, "net", description);
        if (weighted == 0)
            throw new NotSupportedException($"The network '{description}' has no Linear or Conv2d layer: there is nothing to train.");
    }

    private static int Visit(nn.Module module, string path, string description)
    {
        switch (module)
        {
            case Sequential when module.GetType() == typeof(Sequential):
                int weighted = 0;
                nn.Module? previous = null;
                foreach (var (name, child) in module.named_children())
                {
                    string childPath = path + "." + name;
                    if (child is BatchNorm2d bn && !(previous is Conv2d conv && conv.out_channels == bn.num_features))
                        throw new NotSupportedException(
                            $"Layer '{childPath}' of '{description}' is a BatchNorm2d that does not directly follow a Conv2d with {bn.num_features} output channels " +
                            "in the same Sequential: the int8 engine only runs batch norm folded into the convolution before it.");
                    if (child is BatchNorm2d { affine: false })
                        throw new NotSupportedException(
                            $"Layer '{childPath}' of '{description}' is a BatchNorm2d without learnable scale and shift (affine: false): folding it into the int8 " +
                            "convolution needs them. Use nn.BatchNorm2d(channels) (affine is the default).");
                    if (child is TorchSharp.Modules.Conv2d { padding_mode: not TorchSharp.PaddingModes.Zeros } padded)
                        throw new NotSupportedException(
                            $"Layer '{childPath}' of '{description}' is a Conv2d with padding_mode {padded.padding_mode}: the int8 engine pads with zeros only. " +
                            "Use the default padding mode (Zeros).");
                    if (child is BatchNorm2d { momentum: null } || child is BatchNorm2d { track_running_stats: false })
                        throw new NotSupportedException(
                            $"Layer '{childPath}' of '{description}' is a BatchNorm2d without a momentum or without running statistics: " +
                            "the trainer needs running statistics updated with a fixed momentum (the default, 0.1) to fold them into the int8 convolution.");
                    weighted += Visit(child, childPath, description);
                    previous = child;
                }
                return weighted;
            default:
                return SupportedOperations.Find(module)?.Role switch
                {
                    OperationRole.Weighted or OperationRole.Fused => 1,
                    OperationRole.BatchNorm or OperationRole.Converted or OperationRole.Skipped => 0,
                    OperationRole.Stub => throw new NotSupportedException(
                        $"Layer '{path}' of '{description}' is a {module.GetType().Name}: the trainer adds QuantStub and DeQuantStub itself, leave them out of the network."),
                    _ => throw new NotSupportedException(
                        $"Layer '{path}' of '{description}' is a {module.GetType().FullName}, which the int8 engine cannot run. Supported: {SupportedOperations.SupportedLayersText}."),
                };
        }
    }
}
