using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Onnx;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>
/// <c>mlContext.Model.ConvertToOnnx</c> on pipelines ending in each Qat transformer, after ML.NET's own transforms: the
/// file runs in ONNX Runtime and through <c>ApplyOnnxModel</c> and gives the columns <c>Transform</c> gives.
/// </summary>
[TestClass]
[DoNotParallelize] // trains with TorchSharp
public sealed class ConvertToOnnxTests
{
    private const int Rows = 120;
    private static MLContext _ml = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _) => _ml = new MLContext(seed: 1);

    private static QatMulticlassTrainer.Options MulticlassOptions(QatNetwork? network = null) =>
        new() { Network = network ?? QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 3, NumberOfEpochs = 2, ValidationFraction = 0 };

    [TestMethod]
    public void ConvertToOnnx_MulticlassPipeline_ApplyOnnxModelGivesTheSameColumns()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticData.Blobs(Rows, seed: 1));
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.NormalizeMinMax("Features"))
            .Append(_ml.MulticlassClassification.Trainers.Qat(MulticlassOptions()));
        var model = pipeline.Fit(data);
        var onnx = Convert(model, data);

        var expected = model.Transform(data);
        var actual = _ml.Transforms.ApplyOnnxModel(OnnxFile(onnx)).Fit(data).Transform(data);
        var qat = (QatMulticlassTransformer)model.LastTransformer;
        AssertClose(expected.GetColumn<float[]>("Score").ToArray(), actual.GetColumn<float[]>("Score").ToArray(), qat.Model.Output.Scale);
        CollectionAssert.AreEqual(
            expected.GetColumn<uint>("PredictedLabel").ToArray(),
            actual.GetColumn<uint[]>("PredictedLabel").Select(v => v.Single()).ToArray());
    }

    [TestMethod]
    public void ConvertToOnnx_MixedPrecisionPipeline_RunsTheFloatLayerInFloat_AndApplyOnnxModelAgrees()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticData.Blobs(Rows, seed: 3));
        var options = MulticlassOptions(QatNetwork.Mlp(16, 8));
        options.KeepFloatLayers = ["fc2"];
        var model = _ml.Transforms.Conversion.MapValueToKey("Label").Append(_ml.MulticlassClassification.Trainers.Qat(options)).Fit(data);
        var onnx = Convert(model, data);
        var operators = global::Onnx.ModelProto.Parser.ParseFrom(onnx).Graph.Node.Select(n => n.OpType).ToList();
        Assert.AreEqual(1, operators.Count(o => o == "Gemm"), "the float layer is one float Gemm: " + string.Join(", ", operators));

        var expected = model.Transform(data);
        var actual = _ml.Transforms.ApplyOnnxModel(OnnxFile(onnx)).Fit(data).Transform(data);
        var qat = (QatMulticlassTransformer)model.LastTransformer;
        // The float layer's sums run in another order in ONNX Runtime: a level may differ by one at a rounding edge.
        AssertClose(expected.GetColumn<float[]>("Score").ToArray(), actual.GetColumn<float[]>("Score").ToArray(), qat.Model.Output.Scale);
        var labels = expected.GetColumn<uint>("PredictedLabel").ToArray();
        var onnxLabels = actual.GetColumn<uint[]>("PredictedLabel").Select(v => v.Single()).ToArray();
        Assert.IsGreaterThanOrEqualTo(Rows - 2, labels.Zip(onnxLabels).Count(p => p.First == p.Second));
    }

    [TestMethod]
    public void ConvertToOnnx_MulticlassCnn_OnnxRuntimeGivesTheEnginesScoresAndLabels()
    {
        // Images as feature vectors: the graph reshapes them to [N, 1, 6, 6] for the convolutions.
        var random = new Random(4);
        var rows = Enumerable.Range(0, Rows).Select(i =>
        {
            int c = i % 3;
            return new ImageRow { Features = Enumerable.Range(0, 36).Select(p => (float)(random.NextDouble() + (p % 3 == c ? 1.5 : 0))).ToArray(), Label = c.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }).ToList();
        var data = _ml.Transforms.Conversion.MapValueToKey("Label").Fit(_ml.Data.LoadFromEnumerable(rows)).Transform(_ml.Data.LoadFromEnumerable(rows));
        var model = _ml.MulticlassClassification.Trainers.Qat(MulticlassOptions(QatNetwork.Cnn(new Qat.MLNet.Inference.ActivationShape(1, 6, 6), [4], 16))).Fit(data);
        // Scored as a service would: the feature column only, so the graph's one input is Features.
        var unlabeled = _ml.Data.LoadFromEnumerable(rows.Select(r => new FeaturesRow { Features = r.Features }));
        var onnx = Convert(model, unlabeled);

        var features = rows.SelectMany(r => r.Features).ToArray();
        var inputs = new Dictionary<string, (float[], long[])> { ["Features"] = (features, new long[] { Rows, 36 }) };
        var outputs = OnnxRuntimeRunner.Run(onnx, inputs, "Score.output", "PredictedLabel.output");
        var scored = model.Transform(unlabeled);
        AssertClose(scored.GetColumn<float[]>("Score").ToArray(), Chunk(outputs["Score.output"], 3), model.Model.Output.Scale);
        CollectionAssert.AreEqual(scored.GetColumn<uint>("PredictedLabel").Select(v => (float)v).ToArray(), outputs["PredictedLabel.output"]);
    }

    [TestMethod]
    public void ConvertToOnnx_BinaryPipeline_ApplyOnnxModelGivesTheSameColumns()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticData.Binary(Rows, seed: 3));
        var pipeline = _ml.Transforms.NormalizeMeanVariance("Features")
            .Append(_ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 3, NumberOfEpochs = 2, ValidationFraction = 0 }));
        var model = pipeline.Fit(data);
        var expected = model.Transform(data);
        var actual = _ml.Transforms.ApplyOnnxModel(OnnxFile(Convert(model, data))).Fit(data).Transform(data);
        float step = ((QatBinaryTransformer)model.LastTransformer).Model.Output.Scale;
        CollectionAssert.AreEqual(expected.GetColumn<float>("Score").ToArray(), actual.GetColumn<float[]>("Score").Select(v => v.Single()).ToArray());
        AssertClose(expected.GetColumn<float>("Probability").Select(v => new[] { v }).ToArray(), actual.GetColumn<float[]>("Probability").ToArray(), step);
        CollectionAssert.AreEqual(expected.GetColumn<bool>("PredictedLabel").ToArray(), actual.GetColumn<bool[]>("PredictedLabel").Select(v => v.Single()).ToArray());
    }

    [TestMethod]
    public void ConvertToOnnx_PiecewiseLinearEncoding_IsOrdinaryLayers_ApplyOnnxModelGivesTheSameScores()
    {
        // Raw features (standardized inside the model) through the frozen encoding layers: the export needs nothing new.
        var data = _ml.Data.LoadFromEnumerable(SyntheticData.Binary(Rows, seed: 3));
        var model = _ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options
        {
            Network = QatNetwork.Mlp(16), PiecewiseLinearBins = 8, Seed = 1, NumberOfFloatEpochs = 3, NumberOfEpochs = 2, ValidationFraction = 0,
        }).Fit(data);
        StringAssert.Contains(model.TrainingReport!.Network, "piecewise-linear encoding");
        var expected = model.Transform(data);
        var actual = _ml.Transforms.ApplyOnnxModel(OnnxFile(Convert(model, data))).Fit(data).Transform(data);
        CollectionAssert.AreEqual(expected.GetColumn<float>("Score").ToArray(), actual.GetColumn<float[]>("Score").Select(v => v.Single()).ToArray());
        CollectionAssert.AreEqual(expected.GetColumn<bool>("PredictedLabel").ToArray(), actual.GetColumn<bool[]>("PredictedLabel").Select(v => v.Single()).ToArray());
    }

    [TestMethod]
    public void ConvertToOnnx_RegressionPipeline_ScoresInTheLabelsUnits()
    {
        // A label far from zero: the graph must map the standardized output back as Transform does.
        var rows = SyntheticData.Regression(Rows, seed: 5).Select(r => new RegressionRow { Features = r.Features, Label = 1000 + 50 * r.Label }).ToList();
        var data = _ml.Data.LoadFromEnumerable(rows);
        var pipeline = _ml.Transforms.Concatenate("Features", "Features")
            .Append(_ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 3, NumberOfEpochs = 2, ValidationFraction = 0 }));
        var model = pipeline.Fit(data);
        var expected = model.Transform(data).GetColumn<float>("Score").ToArray();
        var actual = _ml.Transforms.ApplyOnnxModel(OnnxFile(Convert(model, data))).Fit(data).Transform(data).GetColumn<float[]>("Score").Select(v => v.Single()).ToArray();
        CollectionAssert.AreEqual(expected, actual);
        Assert.IsGreaterThan(500f, expected.Average());
    }

    [TestMethod]
    public void ConvertToOnnx_OpsetBelow12_IsRefusedNamingTheTransformer()
    {
        var data = SyntheticData.KeyedBlobs(_ml, Rows, seed: 1);
        var model = _ml.MulticlassClassification.Trainers.Qat(MulticlassOptions()).Fit(data);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ml.Model.ConvertToOnnx(model, data, 11, new MemoryStream()));
        StringAssert.Contains(e.Message, "QatMulticlassTransformer");
        StringAssert.Contains(e.Message, "12");
    }

    [TestMethod]
    public void ExportToOnnx_Transformer_NamesItsInputAndOutputsAsTransformDoes()
    {
        var data = SyntheticData.KeyedBlobs(_ml, Rows, seed: 2);
        var model = _ml.MulticlassClassification.Trainers.Qat(MulticlassOptions()).Fit(data);
        foreach (var form in Enum.GetValues<QatOnnxForm>())
        {
            using var stream = new MemoryStream();
            model.ExportToOnnx(stream, new QatOnnxExportOptions { Form = form, OpsetVersion = 17 });
            var features = data.GetColumn<float[]>("Features").SelectMany(f => f).ToArray();
            var outputs = OnnxRuntimeRunner.Run(stream.ToArray(), new Dictionary<string, (float[], long[])> { ["Features"] = (features, new long[] { Rows, SyntheticData.FeatureCount }) }, "Score", "PredictedLabel");
            var scored = model.Transform(data);
            AssertClose(scored.GetColumn<float[]>("Score").ToArray(), Chunk(outputs["Score"], 3), model.Model.Output.Scale);
            if (form == QatOnnxForm.IntegerOperators)
                CollectionAssert.AreEqual(scored.GetColumn<uint>("PredictedLabel").Select(v => (float)v).ToArray(), outputs["PredictedLabel"]);
        }
    }

    private static byte[] Convert(ITransformer model, IDataView data)
    {
        using var stream = new MemoryStream();
        _ml.Model.ConvertToOnnx(model, data, stream);
        var bytes = stream.ToArray();
        // The silent failure this guards against wrote a 1 KB file of Identity nodes.
        var operators = global::Onnx.ModelProto.Parser.ParseFrom(bytes).Graph.Node.Select(n => n.OpType).ToList();
        Assert.IsTrue(operators.Contains("MatMulInteger") || operators.Contains("QLinearConv"), string.Join(", ", operators));
        return bytes;
    }

    private static string OnnxFile(byte[] onnx)
    {
        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), $"model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, onnx);
        return path;
    }

    private static float[][] Chunk(float[] values, int width) => values.Chunk(width).ToArray();

    /// <summary>Softmax and sigmoid change by at most their input's change: one output step of the logits bounds them.</summary>
    private static void AssertClose(float[][] expected, float[][] actual, float step)
    {
        Assert.HasCount(expected.Length, actual);
        double worst = 0;
        for (int r = 0; r < expected.Length; r++)
            worst = Math.Max(worst, expected[r].Zip(actual[r]).Max(p => Math.Abs(p.First - p.Second)));
        Assert.IsLessThanOrEqualTo(step, worst, $"largest difference {worst}");
    }

    private sealed class FeaturesRow
    {
        [VectorType(36)]
        public float[] Features { get; set; } = [];
    }

    private sealed class ImageRow
    {
        [VectorType(36)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }
}
