using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Which float module type PrepareQat swaps for which QAT module (PyTorch: <c>DEFAULT_QAT_MODULE_MAPPINGS</c>).
/// Plain data: <see cref="Default"/> hands out a new copy each time, which callers may extend with their own entries.
/// </summary>
public sealed class QatMappings
{
    private readonly Dictionary<Type, Entry> _map;

    /// <summary>Creates an empty mapping.</summary>
    public QatMappings() => _map = new();

    private QatMappings(Dictionary<Type, Entry> map) => _map = new(map);

    /// <summary>One mapping: how to make the QAT module, and (for a type Convert does not know) what stands for it at Convert.</summary>
    internal sealed record Entry(Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>> FromFloat, Func<nn.Module, Qat.QatModule>? ConvertAs);

    /// <summary>
    /// A new copy of the default mapping: TorchSharp Linear and Conv2d, and the fused LinearReLU, ConvReLU2d, ConvBn2d and
    /// ConvBnReLU2d, to their QAT counterparts in <see cref="Qat"/>.
    /// </summary>
    public static QatMappings Default
    {
        get
        {
            var mapping = new QatMappings();
            foreach (var operation in SupportedOperations.Float)
                if (operation.FromFloat is { } fromFloat)
                    mapping._map[operation.Type] = new Entry(fromFloat, null);
            return mapping;
        }
    }

    /// <summary>The float types that have an entry.</summary>
    public IReadOnlyCollection<Type> FloatTypes => _map.Keys;

    /// <summary>
    /// Adds or replaces the entry for <typeparamref name="TFloat"/> (exact type); returns this mapping. The QAT module
    /// <paramref name="fromFloat"/> makes must be one Convert can convert (<c>Qat.Linear</c>, <c>Qat.Conv2d</c>,
    /// <c>Qat.ConvBn2d</c> or a subclass); PrepareQat refuses any other, before changing anything. For another QAT module
    /// type, use the overload with <c>convertAs</c>.
    /// </summary>
    /// <param name="fromFloat">Makes the QAT module from the float one and a qconfig, e.g. <c>Qat.Linear.FromFloat</c>.</param>
    public QatMappings Add<TFloat>(Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>> fromFloat) where TFloat : nn.Module
    {
        ArgumentNullException.ThrowIfNull(fromFloat);
        _map[typeof(TFloat)] = new Entry(fromFloat, null);
        return this;
    }

    /// <summary>
    /// Adds or replaces the entry for <typeparamref name="TFloat"/> with a converter: <paramref name="convertAs"/> returns,
    /// for a QAT module <paramref name="fromFloat"/> made, the built-in QAT module (e.g. an inner <c>Qat.Linear</c> with its
    /// weight and output fake-quantize) that Convert turns into the int8 layer in its place.
    /// </summary>
    /// <param name="fromFloat">Makes the QAT module from the float one and a qconfig.</param>
    /// <param name="convertAs">The QAT module that stands for the one <paramref name="fromFloat"/> made, at Convert time.</param>
    public QatMappings Add<TFloat>(Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>> fromFloat, Func<nn.Module, Qat.QatModule> convertAs) where TFloat : nn.Module
    {
        ArgumentNullException.ThrowIfNull(fromFloat);
        ArgumentNullException.ThrowIfNull(convertAs);
        _map[typeof(TFloat)] = new Entry(fromFloat, convertAs);
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
    internal bool TryGet(nn.Module module, out Entry entry) => _map.TryGetValue(module.GetType(), out entry!);
}
