using Qat.MLNet.Inference;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

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
