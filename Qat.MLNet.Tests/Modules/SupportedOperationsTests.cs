using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;
using QatModules = Qat.MLNet.Modules.Qat;

namespace Qat.MLNet.Tests.Modules;

/// <summary>The one table of supported operations, and the rule it enforces on user mappings.</summary>
[TestClass]
public sealed class SupportedOperationsTests
{
    private static readonly QConfig Fbgemm = QConfig.GetDefaultQat(QuantBackend.Fbgemm);

    [TestMethod]
    public void Table_EveryInt8KindHasASerializedForm()
    {
        var kinds = QuantizedLayerCatalog.Entries.Select(e => e.Kind).ToHashSet();
        foreach (var operation in SupportedOperations.Float.Where(o => o.Int8Kind is not null))
            Assert.Contains(operation.Int8Kind!.Value, kinds, $"{operation.Type.Name} becomes {operation.Int8Kind}, which the model file cannot hold");
        foreach (var conversion in SupportedOperations.QatConversions)
            Assert.Contains(conversion.Int8Kind, kinds, conversion.QatType.Name);
        Assert.AreEqual(kinds.Count, QuantizedLayerCatalog.Entries.Select(e => e.LayerType).Distinct().Count(), "one layer type per kind");
    }

    [TestMethod]
    public void Table_EveryRoleHasWhatItNeeds()
    {
        foreach (var operation in SupportedOperations.Float)
        {
            bool swapped = operation.Role is OperationRole.Weighted or OperationRole.Fused;
            Assert.AreEqual(swapped, operation.FromFloat is not null, $"{operation.Type.Name}: a QAT module exactly for weighted and fused types");
            Assert.AreEqual(operation.Role == OperationRole.Converted, operation.Convert is not null, $"{operation.Type.Name}: a converter exactly for converted types");
        }
        foreach (var pattern in SupportedOperations.Fusions)
            foreach (var type in pattern.Types)
                Assert.IsTrue(SupportedOperations.Float.Any(o => o.Type == type), $"fusion pattern {pattern} names {type.Name}, which the table lacks");
        Assert.AreEqual(SupportedOperations.Float.Count(o => o.FromFloat is not null), QatMappings.Default.FloatTypes.Count);
    }

    [TestMethod]
    public void Table_FusedTypesMakeQatModulesThatConvert()
    {
        foreach (var operation in SupportedOperations.Float.Where(o => o.FromFloat is not null))
        {
            using var scope = NewDisposeScope();
            nn.Module floatModule = operation.Type == typeof(TorchSharp.Modules.Linear) ? nn.Linear(4, 3)
                : operation.Type == typeof(TorchSharp.Modules.Conv2d) ? nn.Conv2d(2, 3, 3)
                : SupportedOperations.Fusions.Single(p => p.Types.Length == FusedParts(operation.Type).Length && Matches(p, FusedParts(operation.Type)))
                    .Fuse(FusedParts(operation.Type));
            floatModule.train();
            var qat = operation.FromFloat!(floatModule, Fbgemm);
            var conversion = SupportedOperations.FindConversion(qat.GetType());
            Assert.IsNotNull(conversion, $"{operation.Type.Name} -> {qat.GetType().Name} has no converter");
            Assert.AreEqual(operation.Int8Kind, conversion.Int8Kind, operation.Type.Name);
        }
    }

    private static nn.Module[] FusedParts(Type fused) => fused.Name switch
    {
        "LinearReLU" => [nn.Linear(4, 3), nn.ReLU()],
        "ConvReLU2d" => [nn.Conv2d(2, 3, 3), nn.ReLU()],
        "ConvBn2d" => [nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)],
        "ConvBnReLU2d" => [nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU()],
        _ => throw new ArgumentException(fused.Name),
    };

    private static bool Matches(FusionPattern pattern, nn.Module[] parts) => pattern.Matches(parts);

    /// <summary>A user's QAT module that Convert does not know: a Linear inside a module of its own.</summary>
    private sealed class WrappedQatLinear : nn.Module<Tensor, Tensor>
    {
        public WrappedQatLinear(QatModules.Linear inner) : base(nameof(WrappedQatLinear))
        {
            Inner = inner;
            RegisterComponents();
        }

        public QatModules.Linear Inner { get; }

        public override Tensor forward(Tensor input) => Inner.forward(input);
    }

    [TestMethod]
    public void PrepareQat_MappingToATypeWithoutConverter_IsRefusedBeforeAnyChange()
    {
        using var model = nn.Sequential(("quant", new QuantStub()), ("fc", nn.Linear(3, 2)), ("dequant", new DeQuantStub()));
        model.train();
        var mapping = QatMappings.Default.Add<TorchSharp.Modules.Linear>((m, q) => new WrappedQatLinear(QatModules.Linear.FromFloat(m, q)));

        var e = Assert.ThrowsExactly<NotSupportedException>(() => Quantizer.PrepareQat(model, Fbgemm, mapping, inplace: true));
        StringAssert.Contains(e.Message, "'fc' (Linear)");
        StringAssert.Contains(e.Message, "WrappedQatLinear");
        StringAssert.Contains(e.Message, "convertAs");
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(model[1], "the in-place model was left as it was");
        Assert.IsNull(((QuantStub)model[0]).ActivationPostProcess);
    }

    [TestMethod]
    public void PrepareQat_MappingWithConvertAs_ConvertsThroughTheStandIn()
    {
        using var model = nn.Sequential(("quant", new QuantStub()), ("fc", nn.Linear(3, 2)), ("dequant", new DeQuantStub()));
        model.train();
        var mapping = QatMappings.Default.Add<TorchSharp.Modules.Linear>(
            (m, q) => new WrappedQatLinear(QatModules.Linear.FromFloat(m, q)),
            convertAs: m => ((WrappedQatLinear)m).Inner);

        using var qat = Quantizer.PrepareQat(model, Fbgemm, mapping);
        using (var scope = NewDisposeScope())
            qat.forward(randn(16, 3));
        qat.eval();
        var int8 = Quantizer.Convert(qat);

        Assert.HasCount(1, int8.Layers);
        Assert.IsInstanceOfType<QuantizedLinear>(int8.Layers[0]);
        Assert.AreEqual("fc", int8.Layers[0].Name);
    }
}
