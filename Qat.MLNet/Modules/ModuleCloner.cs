using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Deep copies of float module trees, so that <c>PrepareQat(inplace: false)</c> and <c>FuseModules(inplace: false)</c>
/// leave the user's model untouched (PyTorch: <c>copy.deepcopy</c>). TorchSharp has no generic deep copy, so the
/// layers a quantizable network is made of are rebuilt one by one; any other module type is refused by name.
/// </summary>
internal static class ModuleCloner
{
    /// <summary>A deep copy of <paramref name="module"/>: new modules, new parameter and buffer tensors, same training mode.</summary>
    /// <exception cref="NotSupportedException">A module type that cannot be copied; the message says what to do.</exception>
    public static nn.Module<Tensor, Tensor> Clone(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var copy = module.GetType() == typeof(Sequential)
            ? nn.Sequential(module.named_children().Select(c => (c.name, Clone(c.module))))
            : SupportedOperations.Find(module) is { } operation ? operation.Copy(module)
            : throw new NotSupportedException(
                $"Cannot copy a {module.GetType().FullName}: TorchSharp has no generic deep copy. Pass inplace: true to change the model itself " +
                $"(keep your own copy if you need the float model), or build the network from Sequential and the supported layers ({SupportedOperations.SupportedLayersText}).");
        copy.train(module.training);
        return copy;
    }

    /// <summary>A copy of a fused float module: its parts copied, fused again.</summary>
    public static nn.Module<Tensor, Tensor> CloneFused(nn.Module module)
    {
        var parts = module.named_children().Select(c => (nn.Module)Clone(c.module)).ToList();
        return SupportedOperations.Fusions.Single(p => p.Matches(parts)).Fuse(parts);
    }

    /// <summary>A QuantStub that has not been prepared yet (a prepared one carries observer state PrepareQat must not copy).</summary>
    public static nn.Module<Tensor, Tensor> CloneQuantStub(nn.Module module) => ((QuantStub)module).ActivationPostProcess is null
        ? new QuantStub()
        : throw new NotSupportedException("Cannot copy a QuantStub that was prepared already (it has an activation_post_process): prepare the float model, or pass inplace: true.");

    /// <summary>A MaxPool2d with the same settings.</summary>
    public static MaxPool2d CloneMaxPool(MaxPool2d m) => nn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode);

    /// <summary>An AvgPool2d with the same settings.</summary>
    public static AvgPool2d CloneAvgPool(AvgPool2d m) => nn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad, m.divisor_override);

    /// <summary>A Flatten with the same dimensions.</summary>
    public static Flatten CloneFlatten(Flatten m) => nn.Flatten(m.start_dim, m.end_dim);

    /// <summary>A Linear with copies of the weight and bias.</summary>
    public static TorchSharp.Modules.Linear CloneLinear(TorchSharp.Modules.Linear m)
    {
        var copy = nn.Linear(m.in_features, m.out_features, hasBias: m.bias is not null);
        CopyInto(copy.weight!, m.weight!);
        if (m.bias is not null)
            CopyInto(copy.bias!, m.bias);
        return copy;
    }

    /// <summary>A Conv2d with the same geometry and copies of the weight and bias.</summary>
    public static TorchSharp.Modules.Conv2d CloneConv(TorchSharp.Modules.Conv2d m)
    {
        if (m.padding_type is not null || m.padding is null)
            throw new NotSupportedException($"Cannot copy a Conv2d with padding {m.padding_type}: give explicit padding sizes, or pass inplace: true.");
        var k = Pair(m.kernel_size);
        var s = Pair(m.stride);
        var p = Pair(m.padding);
        var d = Pair(m.dilation);
        var copy = nn.Conv2d(m.in_channels, m.out_channels, (k[0], k[1]), stride: (s[0], s[1]), padding: (p[0], p[1]),
            dilation: (d[0], d[1]), padding_mode: m.padding_mode, groups: m.groups, bias: m.bias is not null);
        CopyInto(copy.weight!, m.weight!);
        if (m.bias is not null)
            CopyInto(copy.bias!, m.bias);
        return copy;
    }

    /// <summary>A BatchNorm2d with copies of its parameters and running statistics.</summary>
    public static BatchNorm2d CloneBatchNorm(BatchNorm2d m)
    {
        var copy = nn.BatchNorm2d(m.num_features, m.eps, m.momentum ?? 0.1, m.affine, m.track_running_stats);
        if (m.weight is not null)
            CopyInto(copy.weight!, m.weight);
        if (m.bias is not null)
            CopyInto(copy.bias!, m.bias);
        if (m.running_mean is not null)
            CopyInto(copy.running_mean!, m.running_mean);
        if (m.running_var is not null)
            CopyInto(copy.running_var!, m.running_var);
        if (m.num_batches_tracked is not null)
            CopyInto(copy.num_batches_tracked!, m.num_batches_tracked);
        return copy;
    }

    private static void CopyInto(Tensor destination, Tensor source)
    {
        using var noGrad = no_grad();
        destination.copy_(source);
        if (destination is Parameter p && source is Parameter q)
            p.requires_grad = q.requires_grad;
    }

    private static long[] Pair(long[] values) => values.Length == 1 ? new[] { values[0], values[0] } : values;
}
