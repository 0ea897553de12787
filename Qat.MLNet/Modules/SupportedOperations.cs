using Qat.MLNet.Inference;
using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>How a float layer type takes part in fusion, PrepareQat and Convert.</summary>
internal enum OperationRole
{
    /// <summary>Linear, Conv2d: swapped for a QAT module with fake-quantized weights; becomes an int8 weighted layer.</summary>
    Weighted,

    /// <summary>BatchNorm2d: only right after a Conv2d, fused into it and folded at Convert.</summary>
    BatchNorm,

    /// <summary>A fused float module (Intrinsic.*): swapped for its QAT module like a weighted layer.</summary>
    Fused,

    /// <summary>ReLU, pooling, Flatten: kept as it is in training, converted to an int8 layer without weights.</summary>
    Converted,

    /// <summary>Dropout, Identity: no effect at inference; Convert leaves them out.</summary>
    Skipped,

    /// <summary>QuantStub, DeQuantStub: where the model enters and leaves the quantized domain.</summary>
    Stub,
}

/// <summary>What Convert hands a converter: the module, where it sits, what flows into it.</summary>
/// <param name="Path">The module's path in the model, e.g. <c>features.0</c>.</param>
/// <param name="Module">The module (QAT module for weighted layers).</param>
/// <param name="Shape">The per-sample activation shape flowing in.</param>
/// <param name="Input">The quantization of the activations flowing in.</param>
internal readonly record struct ConversionInput(string Path, nn.Module Module, ActivationShape Shape, QuantizationParameters Input);

/// <summary>One float layer type: its role, deep copy, default QAT module, and how Convert turns it into an int8 layer.</summary>
/// <param name="Type">The exact TorchSharp (or Qat.MLNet fused) module type.</param>
/// <param name="Role">How it takes part.</param>
/// <param name="Copy">A deep copy (PyTorch: <c>copy.deepcopy</c>, which TorchSharp lacks).</param>
/// <param name="FromFloat">The default QAT module (PyTorch: <c>DEFAULT_QAT_MODULE_MAPPINGS</c>); weighted and fused types only.</param>
/// <param name="Convert">The int8 layer of a <see cref="OperationRole.Converted"/> type; weighted types convert through their QAT module.</param>
/// <param name="Int8Kind">The int8 layer kind of the model file it ends up as, if any.</param>
internal sealed record FloatOperation(
    Type Type,
    OperationRole Role,
    Func<nn.Module, nn.Module<Tensor, Tensor>> Copy,
    Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>>? FromFloat,
    Func<ConversionInput, QuantizedLayer>? Convert,
    QuantizedModelFormat.LayerKind? Int8Kind);

/// <summary>A QAT module type and the int8 layer Convert makes of it (PyTorch: the quantized module's <c>from_float</c>).</summary>
/// <param name="QatType">The QAT type; subclasses convert the same way.</param>
/// <param name="Convert">Makes the int8 layer.</param>
/// <param name="Int8Kind">The int8 layer kind of the model file.</param>
internal sealed record QatConversion(Type QatType, Func<ConversionInput, QuantizedLayer> Convert, QuantizedModelFormat.LayerKind Int8Kind);

/// <summary>A sequence of float types that fuses into one module (PyTorch: <c>DEFAULT_OP_LIST_TO_FUSER_METHOD</c>).</summary>
/// <param name="Types">The exact types, in order.</param>
/// <param name="Fuse">Builds the fused module from the matched modules (which it takes over).</param>
internal sealed record FusionPattern(Type[] Types, Func<IReadOnlyList<nn.Module>, nn.Module<Tensor, Tensor>> Fuse)
{
    /// <summary>Whether <paramref name="modules"/> are exactly this pattern's types.</summary>
    public bool Matches(IReadOnlyList<nn.Module> modules) =>
        modules.Count == Types.Length && modules.Select(m => m.GetType()).SequenceEqual(Types);

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", Types.Select(t => t.Name)) + "]";
}

/// <summary>
/// The one table of operations the int8 path supports, the way PyTorch keeps its mapping dicts
/// (<c>quantization_mappings.py</c>, <c>fuser_method_mappings.py</c>): for each float layer type its role, deep copy,
/// default QAT module and int8 layer kind; the fusion patterns; and for each QAT type its converter. NetworkCheck,
/// ModuleCloner, FusionPatterns, QatMappings.Default, PrepareQat and Converter read it; the int8 kinds' serialized
/// form is the Runtime's <c>QuantizedLayerCatalog</c>. Adding an operation means adding rows here (and an int8 layer with
/// its catalog entry), nowhere else.
/// </summary>
internal static class SupportedOperations
{
    /// <summary>Every supported float layer type.</summary>
    public static IReadOnlyList<FloatOperation> Float { get; } =
    [
        new(typeof(TorchSharp.Modules.Linear), OperationRole.Weighted, m => ModuleCloner.CloneLinear((TorchSharp.Modules.Linear)m),
            Qat.Linear.FromFloat, null, QuantizedModelFormat.LayerKind.Linear),
        new(typeof(TorchSharp.Modules.Conv2d), OperationRole.Weighted, m => ModuleCloner.CloneConv((TorchSharp.Modules.Conv2d)m),
            Qat.Conv2d.FromFloat, null, QuantizedModelFormat.LayerKind.Conv2d),
        new(typeof(BatchNorm2d), OperationRole.BatchNorm, m => ModuleCloner.CloneBatchNorm((BatchNorm2d)m), null, null, null),
        new(typeof(Intrinsic.LinearReLU), OperationRole.Fused, ModuleCloner.CloneFused, (m, q) => Qat.LinearReLU.FromFloat(m, q), null, QuantizedModelFormat.LayerKind.Linear),
        new(typeof(Intrinsic.ConvReLU2d), OperationRole.Fused, ModuleCloner.CloneFused, (m, q) => Qat.ConvReLU2d.FromFloat(m, q), null, QuantizedModelFormat.LayerKind.Conv2d),
        new(typeof(Intrinsic.ConvBn2d), OperationRole.Fused, ModuleCloner.CloneFused, (m, q) => Qat.ConvBn2d.FromFloat(m, q), null, QuantizedModelFormat.LayerKind.Conv2d),
        new(typeof(Intrinsic.ConvBnReLU2d), OperationRole.Fused, ModuleCloner.CloneFused, (m, q) => Qat.ConvBnReLU2d.FromFloat(m, q), null, QuantizedModelFormat.LayerKind.Conv2d),
        new(typeof(ReLU), OperationRole.Converted, m => nn.ReLU(((ReLU)m).inplace), null, Converter.ConvertReLU, QuantizedModelFormat.LayerKind.ReLU),
        new(typeof(MaxPool2d), OperationRole.Converted, m => ModuleCloner.CloneMaxPool((MaxPool2d)m), null, Converter.ConvertMaxPool, QuantizedModelFormat.LayerKind.MaxPool2d),
        new(typeof(AvgPool2d), OperationRole.Converted, m => ModuleCloner.CloneAvgPool((AvgPool2d)m), null, Converter.ConvertAvgPool, QuantizedModelFormat.LayerKind.AvgPool2d),
        new(typeof(TorchSharp.Modules.Flatten), OperationRole.Converted, m => ModuleCloner.CloneFlatten((TorchSharp.Modules.Flatten)m), null, Converter.ConvertFlatten, QuantizedModelFormat.LayerKind.Flatten),
        new(typeof(Dropout), OperationRole.Skipped, m => nn.Dropout(((Dropout)m).p, ((Dropout)m).inplace), null, null, null),
        new(typeof(Identity), OperationRole.Skipped, _ => nn.Identity(), null, null, null),
        new(typeof(QuantStub), OperationRole.Stub, ModuleCloner.CloneQuantStub, null, null, null),
        new(typeof(DeQuantStub), OperationRole.Stub, _ => new DeQuantStub(), null, null, null),
    ];

    /// <summary>The fusion patterns, longest first (PyTorch: <c>fuse_modules_qat</c>'s defaults).</summary>
    public static IReadOnlyList<FusionPattern> Fusions { get; } =
    [
        new([typeof(TorchSharp.Modules.Conv2d), typeof(BatchNorm2d), typeof(ReLU)],
            m => new Intrinsic.ConvBnReLU2d((TorchSharp.Modules.Conv2d)m[0], (BatchNorm2d)m[1], (ReLU)m[2])),
        new([typeof(TorchSharp.Modules.Conv2d), typeof(BatchNorm2d)], m => new Intrinsic.ConvBn2d((TorchSharp.Modules.Conv2d)m[0], (BatchNorm2d)m[1])),
        new([typeof(TorchSharp.Modules.Conv2d), typeof(ReLU)], m => new Intrinsic.ConvReLU2d((TorchSharp.Modules.Conv2d)m[0], (ReLU)m[1])),
        new([typeof(TorchSharp.Modules.Linear), typeof(ReLU)], m => new Intrinsic.LinearReLU((TorchSharp.Modules.Linear)m[0], (ReLU)m[1])),
    ];

    /// <summary>The QAT types Convert turns into int8 layers; a subclass converts as its nearest listed base.</summary>
    public static IReadOnlyList<QatConversion> QatConversions { get; } =
    [
        new(typeof(Qat.Linear), Converter.ConvertLinear, QuantizedModelFormat.LayerKind.Linear),
        new(typeof(Qat.ConvBn2d), Converter.ConvertConvBn, QuantizedModelFormat.LayerKind.Conv2d),
        new(typeof(Qat.Conv2d), Converter.ConvertConv, QuantizedModelFormat.LayerKind.Conv2d),
    ];

    /// <summary>The longest fusion pattern.</summary>
    public static int MaxFusionLength { get; } = Fusions.Max(p => p.Types.Length);

    /// <summary>The row of <paramref name="module"/>'s exact type, or null when the type is not supported.</summary>
    public static FloatOperation? Find(nn.Module module) => Float.FirstOrDefault(o => o.Type == module.GetType());

    /// <summary>Whether <paramref name="module"/> is one of the fused float modules (a Sequential subclass that is a single layer).</summary>
    public static bool IsFused(nn.Module module) => Find(module)?.Role == OperationRole.Fused;

    /// <summary>The conversion of <paramref name="qatType"/> or its nearest listed base type, or null.</summary>
    public static QatConversion? FindConversion(Type qatType)
    {
        for (var type = qatType; type is not null; type = type.BaseType)
        {
            foreach (var conversion in QatConversions)
                if (conversion.QatType == type)
                    return conversion;
        }
        return null;
    }

    /// <summary>The supported float layers, for messages.</summary>
    public static string SupportedLayersText { get; } =
        string.Join(", ", Float.Where(o => o.Role is not (OperationRole.Fused or OperationRole.Stub)).Select(o => o.Type.Name +
            (o.Role == OperationRole.BatchNorm ? " (right after a Conv2d)" : ""))) + ", in Sequential chains";

    /// <summary>The fusion patterns, for messages.</summary>
    public static string FusionPatternsText { get; } = string.Join(", ", Fusions);
}
