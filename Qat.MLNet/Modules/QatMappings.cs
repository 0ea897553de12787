using Qat.MLNet.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Which float module type PrepareQat swaps for which QAT module (PyTorch: <c>DEFAULT_QAT_MODULE_MAPPINGS</c>).
/// Plain data: <see cref="Default"/> hands out a new copy each time, which callers may extend with their own entries.
/// </summary>
public sealed class QatMappings
{
    private readonly Dictionary<Type, Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>>> _map;

    /// <summary>Creates an empty mapping.</summary>
    public QatMappings() => _map = new();

    private QatMappings(Dictionary<Type, Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>>> map) => _map = new(map);

    /// <summary>
    /// A new copy of the default mapping: TorchSharp Linear and Conv2d, and the fused LinearReLU, ConvReLU2d, ConvBn2d and
    /// ConvBnReLU2d, to their QAT counterparts in <see cref="Qat"/>.
    /// </summary>
    public static QatMappings Default => new QatMappings()
        .Add<TorchSharp.Modules.Linear>(Qat.Linear.FromFloat)
        .Add<TorchSharp.Modules.Conv2d>(Qat.Conv2d.FromFloat)
        .Add<Intrinsic.LinearReLU>(Qat.LinearReLU.FromFloat)
        .Add<Intrinsic.ConvReLU2d>(Qat.ConvReLU2d.FromFloat)
        .Add<Intrinsic.ConvBn2d>(Qat.ConvBn2d.FromFloat)
        .Add<Intrinsic.ConvBnReLU2d>(Qat.ConvBnReLU2d.FromFloat);

    /// <summary>The float types that have an entry.</summary>
    public IReadOnlyCollection<Type> FloatTypes => _map.Keys;

    /// <summary>Adds or replaces the entry for <typeparamref name="TFloat"/> (exact type); returns this mapping.</summary>
    /// <param name="fromFloat">Makes the QAT module from the float one and a qconfig, e.g. <c>Qat.Linear.FromFloat</c>.</param>
    public QatMappings Add<TFloat>(Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>> fromFloat) where TFloat : nn.Module
    {
        ArgumentNullException.ThrowIfNull(fromFloat);
        _map[typeof(TFloat)] = fromFloat;
        return this;
    }

    /// <summary>Removes the entry for <typeparamref name="TFloat"/> (that type then stays float); returns this mapping.</summary>
    public QatMappings Remove<TFloat>() where TFloat : nn.Module
    {
        _map.Remove(typeof(TFloat));
        return this;
    }

    /// <summary>A copy of this mapping.</summary>
    public QatMappings Copy() => new(_map);

    /// <summary>The entry for a module's exact type, if any.</summary>
    public bool TryGet(nn.Module module, out Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>> fromFloat)
        => _map.TryGetValue(module.GetType(), out fromFloat!);
}
