using Microsoft.ML;
using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.MLNet;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>What cannot be exported makes the export throw, naming it; a failed export to a file keeps the old file.</summary>
[TestClass]
[DoNotParallelize] // the test networks seed TorchSharp's global generator
public sealed class OnnxExportRefusalTests
{
    /// <summary>A layer kind the exporter does not know (a future or third-party layer): an identity on the levels.</summary>
    private sealed class OpaqueLayer : QuantizedLayer
    {
        public OpaqueLayer(ActivationShape shape) : base("opaque7", shape, shape)
        {
        }

        public override long ParameterBytes => 0;

        internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch) =>
            input[..(batch * InputShape.Size)].CopyTo(output);
    }

    private static QuantizedModel WithOpaqueLayer()
    {
        var mlp = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
        var layers = mlp.Layers.ToList();
        layers.Insert(2, new OpaqueLayer(layers[1].OutputShape));
        return new QuantizedModel(mlp.InputShape, mlp.Input, layers, mlp.Output);
    }

    [TestMethod]
    public void ExportToOnnx_LayerWithoutOnnxForm_ThrowsNamingTheLayer()
    {
        var model = WithOpaqueLayer();
        using var stream = new MemoryStream();
        var e = Assert.Throws<NotSupportedException>(() => model.ExportToOnnx(stream));
        StringAssert.Contains(e.Message, "'opaque7'");
        StringAssert.Contains(e.Message, nameof(OpaqueLayer));
        Assert.AreEqual(0, stream.Length, "nothing may be written");
    }

    [TestMethod]
    public void ExportToOnnx_FailingExportToAnExistingFile_KeepsTheOldFile()
    {
        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "kept.onnx");
        OnnxTestModels.Mlp(QuantBackend.Fbgemm).ExportToOnnx(path);
        var before = File.ReadAllBytes(path);
        Assert.Throws<NotSupportedException>(() => WithOpaqueLayer().ExportToOnnx(path));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        Assert.HasCount(1, Directory.GetFiles(Path.GetDirectoryName(path)!), "no temporary file may be left behind");
    }

    [TestMethod]
    public void ConvertToOnnx_FeatureColumnNotInTheGraph_ThrowsInsteadOfWritingAnEmptyModel()
    {
        // A CustomMapping has no ONNX form: ML.NET stops its walk there, so the Qat transformer's features are missing.
        var ml = new MLContext(seed: 1);
        var data = SyntheticData.KeyedBlobs(ml, 60, seed: 1);
        var mapping = ml.Transforms.CustomMapping<FeatureRow, FeatureRow>((src, dst) => dst.Features = src.Features.Select(v => v * 2).ToArray(), contractName: null);
        var pipeline = mapping.Append(ml.MulticlassClassification.Trainers.Qat(new Qat.MLNet.Trainers.QatMulticlassTrainer.Options
        {
            Network = Qat.MLNet.Trainers.QatNetwork.Mlp(8), Seed = 1, NumberOfFloatEpochs = 1, NumberOfEpochs = 1, ValidationFraction = 0,
        }));
        var model = pipeline.Fit(data);
        var e = Assert.Throws<InvalidOperationException>(() => ml.Model.ConvertToOnnx(model, data, new MemoryStream()));
        StringAssert.Contains(e.Message, "has no ONNX form");
        StringAssert.Contains(e.Message, "QatMulticlassTransformer");
    }

    [TestMethod]
    public void ExportToOnnx_BadOptions_NameTheOption()
    {
        var model = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
        var e = Assert.Throws<ArgumentException>(() => model.ExportToOnnx(new MemoryStream(), new QatOnnxExportOptions { InputName = "x", OutputName = "x" }));
        StringAssert.Contains(e.Message, "OutputName");
        var f = Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportToOnnx(new MemoryStream(), new QatOnnxExportOptions { Form = (QatOnnxForm)7 }));
        StringAssert.Contains(f.Message, "Form");
    }

    /// <summary>The row the custom mapping reads and writes.</summary>
    public sealed class FeatureRow
    {
        /// <summary>The features.</summary>
        [Microsoft.ML.Data.VectorType(SyntheticData.FeatureCount)]
        public float[] Features { get; set; } = [];
    }
}
