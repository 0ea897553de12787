using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Onnx;
using Qat.MLNet.Quantization;
using Qat.MLNet.Testing;
using Qat.MLNet.Tests.Onnx;
using static TorchSharp.torch;
using QatModules = Qat.MLNet.Modules.Qat;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// Mixed float/int8 models: layers with a null qconfig stay float through PrepareQat (a FloatFallback) and Convert (a
/// float layer of the engine), and QAT layers can be kept float at Convert; the engine matches the fake-quant model,
/// saves and loads them, and exports them to ONNX.
/// </summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's global generator
public sealed class MixedPrecisionTests
{
    private static readonly ActivationShape Shape = new(2, 8, 8);

    /// <summary>A CNN with conv1 (Conv+BN+ReLU) and fc2 assigned a null qconfig, calibrated, in eval mode; and its conversion.</summary>
    private static (nn.Module<Tensor, Tensor> Qat, QuantizedModel Converted) FloatEnds(QuantBackend backend = QuantBackend.Fbgemm)
    {
        manual_seed(17);
        var model = nn.Sequential(
            ("quant", new QuantStub()),
            ("conv1", nn.Conv2d(2, 6, 3, padding: 1)), ("bn1", nn.BatchNorm2d(6)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(6, 4, 3, padding: 1, groups: 2)), ("relu2", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(4 * 4 * 4, 12)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(12, 5)),
            ("dequant", new DeQuantStub()));
        model.train();
        var fused = Quantizer.FuseModules(model);
        Quantizer.SetQConfig(ModuleTree.Resolve(fused, "conv1"), null);
        Quantizer.SetQConfig(ModuleTree.Resolve(fused, "fc2"), null);
        var qat = Quantizer.PrepareQat(fused, QConfig.GetDefaultQat(backend));
        Calibrate(qat);
        return (qat, Quantizer.Convert(qat, Shape));
    }

    private static void Calibrate(nn.Module<Tensor, Tensor> qat)
    {
        using (NewDisposeScope())
        {
            for (int i = 0; i < 4; i++)
                qat.forward(randn(8, 2, 8, 8));
        }
        Quantizer.DisableObserver(qat);
        Quantizer.FreezeBatchNormStats(qat);
        qat.eval();
    }

    [TestMethod]
    public void PrepareQat_NullQConfig_WrapsTheLayerInAFloatFallbackThatQuantizesItsOutput()
    {
        var (qat, _) = FloatEnds();
        using (qat)
        {
            var fc2 = ModuleTree.Resolve(qat, "fc2");
            Assert.IsInstanceOfType<FloatFallback>(fc2);
            Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(((FloatFallback)fc2).Module);
            Assert.IsInstanceOfType<FakeQuantize>(((FloatFallback)fc2).ActivationPostProcess);
            Assert.IsInstanceOfType<Qat.MLNet.Modules.Intrinsic.ConvBnReLU2d>(((FloatFallback)ModuleTree.Resolve(qat, "conv1")).Module);
            Assert.IsInstanceOfType<QatModules.LinearReLU>(ModuleTree.Resolve(qat, "fc1"));
        }
    }

    [TestMethod]
    [DataRow(QuantBackend.Fbgemm)]
    [DataRow(QuantBackend.Qnnpack)]
    public void Convert_NullQConfigLayers_RunInFloat_WithinOneStepOfFakeQuant(QuantBackend backend)
    {
        var (qat, model) = FloatEnds(backend);
        using (qat)
        {
            CollectionAssert.AreEqual(
                new[] { typeof(FloatConv2d), typeof(QuantizedMaxPool2d), typeof(QuantizedConv2d), typeof(QuantizedFlatten), typeof(QuantizedLinear), typeof(FloatLinear) },
                model.Layers.Select(l => l.GetType()).ToArray());
            Assert.IsTrue(((FloatConv2d)model.Layers[0]).FusedReLU);
            Assert.That.Int8MatchesFakeQuant(model, qat, OnnxTestModels.RandomInput(64, model.InputSize, 4));
        }
    }

    [TestMethod]
    public void Convert_KeepFloat_RunsTheNamedQatLayersWithTheirFloatWeights()
    {
        var (qat, _) = FloatEnds();
        using (qat)
        {
            var model = Quantizer.Convert(qat, Shape, keepFloat: ["fc1", "conv2"]);
            Assert.IsInstanceOfType<FloatConv2d>(model.Layers[2]);
            Assert.IsInstanceOfType<FloatLinear>(model.Layers[4]);
            // The fake-quant model with those layers' weight fake-quantization off is what the engine now computes.
            foreach (var path in new[] { "fc1", "conv2" })
                ((FakeQuantize)((QatModules.QatModule)ModuleTree.Resolve(qat, path)).WeightFakeQuant).DisableFakeQuant();
            Assert.That.Int8MatchesFakeQuant(model, qat, OnnxTestModels.RandomInput(64, model.InputSize, 5));
        }
    }

    [TestMethod]
    public void Convert_KeepFloatNamingNoWeightedQatLayer_SaysWhichLayersCanBe()
    {
        var (qat, _) = FloatEnds();
        using (qat)
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => Quantizer.Convert(qat, Shape, keepFloat: ["pool1", "fc9"]));
            StringAssert.Contains(e.Message, "pool1, fc9");
            StringAssert.Contains(e.Message, "[conv2, fc1]");
        }
    }

    /// <summary>The mixed model of <see cref="FloatEnds"/> and the bytes it saves to.</summary>
    private static (QuantizedModel Model, byte[] Bytes) SavedMixedModel()
    {
        var (qat, model) = FloatEnds();
        qat.Dispose();
        using var stream = new MemoryStream();
        model.Save(stream);
        return (model, stream.ToArray());
    }

    [TestMethod]
    public void SaveLoad_MixedModel_PredictsIdentically_AtVersion3_WhileInt8OnlyModelsStayAtVersion2()
    {
        var (model, bytes) = SavedMixedModel();
        Assert.AreEqual(3, BitConverter.ToUInt16(bytes, 8));
        var loaded = QuantizedModel.Load(new MemoryStream(bytes));
        var input = OnnxTestModels.RandomInput(16, model.InputSize, 6);
        CollectionAssert.AreEqual(model.Predict(input, 16), loaded.Predict(input, 16));
        Assert.AreEqual(model.ParameterBytes, loaded.ParameterBytes);

        using var int8Only = new MemoryStream();
        QuantizedModelTests.SmallConvertedCnn().Save(int8Only);
        Assert.AreEqual(2, BitConverter.ToUInt16(int8Only.ToArray(), 8));
    }

    [TestMethod]
    public void Load_MixedModelTruncatedAnywhere_ThrowsInvalidData()
    {
        var (_, bytes) = SavedMixedModel();
        foreach (int length in new[] { 10, QuantizedModelFormat.HeaderBytes, bytes.Length / 3, bytes.Length / 2, bytes.Length - 5, bytes.Length - 1 })
            Assert.ThrowsExactly<InvalidDataException>(() => QuantizedModel.Load(new MemoryStream(bytes[..length])), $"cut at {length} of {bytes.Length}");
    }

    [TestMethod]
    public void Load_FloatLayerWithNonFiniteWeight_IsRefused()
    {
        var (qat, model) = FloatEnds();
        qat.Dispose();
        var fc2 = (FloatLinear)model.Layers[^1];
        fc2.Weights[3] = float.NaN; // the layer shares its array: the file gets the NaN
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => QuantizedModel.Load(stream));
        StringAssert.Contains(e.Message, "fc2");
        StringAssert.Contains(e.Message, "finite");
    }

    [TestMethod]
    [DataRow(QatOnnxForm.IntegerOperators)]
    [DataRow(QatOnnxForm.Qdq)]
    public void ExportToOnnx_MixedModel_WithinOneStepOfTheEngine(QatOnnxForm form)
    {
        var (qat, model) = FloatEnds();
        qat.Dispose();
        const int batch = 32;
        var input = OnnxTestModels.RandomInput(batch, model.InputSize, 7);
        var expected = model.Predict(input, batch);
        var actual = OnnxRuntimeRunner.Run(QuantizedModelOnnxExportTests.Export(model, form), "input", input, batch, "output");
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / model.Output.Scale;
        Console.WriteLine($"{form}: largest difference {worst:F3} output steps");
        Assert.IsLessThanOrEqualTo(1.0001, worst);
        Assert.That.OnnxExportMatchesEngine(model, input, form); // the Testing package's default allows the float layers' step
    }
}
