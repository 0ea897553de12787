using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Testing;
using Qat.MLNet.Tests.Inference;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Testing;

/// <summary>Every assertion of Qat.MLNet.Testing passes on a good model and fails, with its message, on a bad one.</summary>
[TestClass]
[DoNotParallelize] // the test networks seed TorchSharp's global generator
public sealed class QatAssertionsTests
{
    private static (nn.Module<Tensor, Tensor> Qat, QuantizedModel Int8) _cnn;
    private static float[] _inputs = null!;

    [ClassInitialize]
    public static void Build(TestContext _)
    {
        _cnn = QuantizedModelTests.SmallCnnPair(seed: 3);
        var random = new Random(5);
        _inputs = Enumerable.Range(0, 64 * _cnn.Int8.InputSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    [ClassCleanup]
    public static void Release() => _cnn.Qat.Dispose();

    /// <summary>The same model with the first output's weights in the last Linear moved by <paramref name="delta"/>: what a corrupted or stale file gives.</summary>
    private static QuantizedModel Perturbed(QuantizedModel model, int delta)
    {
        var layers = model.Layers.ToList();
        var last = (QuantizedLinear)layers[^1];
        var weights = last.Weights.Select((w, i) => i < last.InFeatures ? (sbyte)Math.Clamp(w + delta, -128, 127) : w).ToArray();
        layers[^1] = new QuantizedLinear(last.Name, last.InFeatures, last.OutFeatures, weights, last.WeightScales, last.Bias, last.Input, last.Output, last.FusedReLU);
        return new QuantizedModel(model.InputShape, model.Input, layers, model.Output);
    }

    /// <summary>The same model with the last Linear's output rows rotated by one: every class scored as the next one.</summary>
    private static QuantizedModel Rotated(QuantizedModel model)
    {
        var layers = model.Layers.ToList();
        var last = (QuantizedLinear)layers[^1];
        int k = last.InFeatures, m = last.OutFeatures;
        var w = last.Weights;
        var weights = Enumerable.Range(0, m * k).Select(i => w[(i / k + 1) % m * k + i % k]).ToArray();
        var bias = Enumerable.Range(0, m).Select(o => last.Bias[(o + 1) % m]).ToArray();
        var scales = last.WeightScales.Length == 1 ? last.WeightScales : Enumerable.Range(0, m).Select(o => last.WeightScales[(o + 1) % m]).ToArray();
        layers[^1] = new QuantizedLinear(last.Name, k, m, weights, scales, bias, last.Input, last.Output, last.FusedReLU);
        return new QuantizedModel(model.InputShape, model.Input, layers, model.Output);
    }

    private static AssertFailedException Fails(Action action, params string[] fragments)
    {
        var e = Assert.ThrowsExactly<AssertFailedException>(action);
        StringAssert.StartsWith(e.Message, "Assertion failed. ");
        foreach (string fragment in fragments)
            StringAssert.Contains(e.Message, fragment);
        return e;
    }

    [TestMethod]
    public void Int8MatchesFakeQuant_PassesOnTheConversion_FailsOnPerturbedWeights()
    {
        // Two steps: this CNN has an AvgPool2d, which the int8 model re-quantizes (QuantizedModelTests says why).
        Assert.That.Int8MatchesFakeQuant(_cnn.Int8, _cnn.Qat, _inputs, maxSteps: 2);
        var perturbed = Perturbed(_cnn.Int8, 40);
        Fails(() => Assert.That.Int8MatchesFakeQuant(perturbed, _cnn.Qat, _inputs, maxSteps: 2),
            "not within 2 output quantization step(s)", "Mismatched elements: ", "Greatest difference: ", "steps at index", "Allowed: 2 step(s)",
            "Assert.That.Int8MatchesFakeQuant(perturbed, _cnn.Qat)");
    }

    [TestMethod]
    public void AccuracyDropAtMost_OnData_PassesOnTheConversion_FailsOnPerturbedWeights()
    {
        // Labels: the float model's own classes, so float accuracy is 1 and the drop is what int8 loses.
        int classes = _cnn.Int8.OutputSize;
        var labels = Argmax(ModelOutputs.Float(_cnn.Int8, _cnn.Qat, _inputs, 64), classes);
        Assert.That.AccuracyDropAtMost(_cnn.Int8, _cnn.Qat, _inputs, labels, maxDrop: 0.25);
        var perturbed = Rotated(_cnn.Int8);
        Fails(() => Assert.That.AccuracyDropAtMost(perturbed, _cnn.Qat, _inputs, labels, maxDrop: 0.05),
            "The int8 model's accuracy is ", "at most 0.0500 is allowed", "Float accuracy: 1.0000; int8 accuracy: ", "on 64 rows", "Assert.That.AccuracyDropAtMost(perturbed, 0.05)");
    }

    [TestMethod]
    public void AccuracyDropAtMost_FromTheReport_PassesAndFails()
    {
        var ml = new MLContext(seed: 1);
        var trained = ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 3, NumberOfEpochs = 2 })
            .Fit(SyntheticData.KeyedBlobs(ml, 300, seed: 1));
        Assert.That.AccuracyDropAtMost(trained, 0.02);
        var r = trained.TrainingReport!;
        var report = new QatTrainingReport
        {
            Task = r.Task, Network = r.Network, QConfig = r.QConfig, TrainingRows = r.TrainingRows, Epochs = r.Epochs, EvaluatedOn = r.EvaluatedOn,
            Float = new QatMetrics(0.2, 0.95, 60), FakeQuantized = r.FakeQuantized, Int8 = new QatMetrics(0.4, 0.90, 60),
            FloatModelBytes = r.FloatModelBytes, Int8ModelBytes = r.Int8ModelBytes, FloatMicrosecondsPerRow = 1, Int8MicrosecondsPerRow = 1, TotalSeconds = 1,
        };
        var drifted = new QatMulticlassTransformer(trained.Model, trained.FeatureColumnName, (MulticlassScoringTask)trained.ScoringTask, report, new ScoringSettings(ml, false));
        Fails(() => Assert.That.AccuracyDropAtMost(drifted, 0.01), "accuracy is 0.0500 below", "Float accuracy: 0.9500; int8 accuracy: 0.9000; on 60 rows of the", "Assert.That.AccuracyDropAtMost(drifted, 0.01)");
    }

    [TestMethod]
    public void AccuracyDropAtMost_Regression_UsesRSquared()
    {
        // One output of the CNN read as a regression target.
        var (qat, int8) = QuantizedModelTests.SmallCnnPair(seed: 4);
        using (qat)
        {
            var single = Slice(int8);
            var targets = ModelOutputs.Float(int8, qat, _inputs, 64).Where((_, i) => i % int8.OutputSize == 0).ToArray();
            var oneOutput = nn.Sequential(("net", qat), ("first", new FirstOutput()));
            // One output quantized at the range of five is coarse: R² 0.74 against the float model's own outputs.
            Assert.That.AccuracyDropAtMost(single, oneOutput, _inputs, targets, maxDrop: 0.5);
            Fails(() => Assert.That.AccuracyDropAtMost(Perturbed(single, 100), oneOutput, _inputs, targets, maxDrop: 0.01), "R² is", "Float R²: 1.0000");
        }
    }

    [TestMethod]
    public void ModelSizeAtMost_PassesUnderTheLimits_FailsOverThem()
    {
        var model = _cnn.Int8;
        Assert.That.ModelSizeAtMost(model, 10_000, 20_000);
        Fails(() => Assert.That.ModelSizeAtMost(model, 500, 20_000), "The model is larger than allowed.", "(at most 500): too large", "bytes per weight", "Assert.That.ModelSizeAtMost(model, 500)");
        Fails(() => Assert.That.ModelSizeAtMost(model, 10_000, 100), "(at most 100): too large");
    }

    [TestMethod]
    public void ScoresEqualAfterReload_PassesOnAQatPipeline_FailsWhenTheSavedModelDiffers()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Binary(200, seed: 1));
        var model = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(8), Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 1 }).Fit(data);
        Assert.That.ScoresEqualAfterReload(model, data);
        var stale = new SavesAnother(model, new QatBinaryTransformer(Perturbed(model.Model, 30), model.FeatureColumnName, BinaryScoringTask.Instance, null, new ScoringSettings(ml, false)));
        Fails(() => Assert.That.ScoresEqualAfterReload(stale, data), "The reloaded model scores differently.", "Column 'Score', row 0:", "after reload", "Assert.That.ScoresEqualAfterReload(stale)");
    }

    [TestMethod]
    public void AreClose_TorchTestingFacts()
    {
        float[] expected = [1, 2, 3, 4, float.NaN];
        Assert.That.AreClose(expected, new float[] { 1, 2, 3.00001f, 4, float.NaN });
        Assert.AllClose(expected, new float[] { 1, 2, 3, 4, float.NaN }); // the static form (a C# 14 extension member)
        Assert.That.AreClose(new VBuffer<float>(3, [1f, 2f, 3f]), new VBuffer<float>(3, 1, [2f], [1]), atol: 3);
        float[] actual = [1, 2.5f, 3, 5, float.NaN];
        var e = Fails(() => Assert.That.AreClose(expected, actual, rtol: 0.01, atol: 0.1),
            "Mismatched elements: 2 / 5 (40.0 %)", "Greatest absolute difference: 1 at index 3 (expected 4, actual 5; up to 0.1 allowed)",
            "Greatest relative difference: 0.25 at index 1 (expected 2, actual 2.5; up to 0.01 allowed)", "Assert.That.AreClose(expected, actual)");
        ReadOnlySpan<float> head = expected.AsSpan(0, 4);
        Assert.That.AreClose(head, new float[] { 1, 2, 3, 4 }.AsSpan());
        float[] short2 = [1f, 2f];
        Fails(() => Assert.AllClose(expected, short2), "differ in length", "Expected 5 elements, actual 2", "Assert.AllClose(expected, short2)");
        Assert.IsNotNull(e);
    }

    [TestMethod]
    public void OnnxExportMatchesEngine_PassesOnTheModel_FailsWhenTheOutputsAreAskedForTooTightly()
    {
        Assert.That.OnnxExportMatchesEngine(_cnn.Int8, _inputs);
        Assert.That.OnnxExportMatchesEngine(_cnn.Int8, _inputs, Qat.MLNet.Onnx.QatOnnxForm.Qdq, maxSteps: 2);
        // Inputs on the input quantizer's ties: the engine multiplies by the reciprocal of the scale, QuantizeLinear of the
        // QDQ form divides, so some land on the other level; zero steps allowed on that form shows the failure.
        var model = _cnn.Int8;
        var random = new Random(3);
        var ties = Enumerable.Range(0, _inputs.Length).Select(_ => (random.Next(-60, 60) + 0.5f) * model.Input.Scale).ToArray();
        var e = Assert.ThrowsExactly<AssertFailedException>(() => Assert.That.OnnxExportMatchesEngine(model, ties, Qat.MLNet.Onnx.QatOnnxForm.Qdq, maxSteps: 0));
        StringAssert.StartsWith(e.Message, "Assertion failed. ONNX Runtime on the Qdq export does not give the int8 engine's outputs.");
        StringAssert.Contains(e.Message, "Mismatched elements: ");
        StringAssert.Contains(e.Message, "Assert.That.OnnxExportMatchesEngine(model)");
    }

    private static int[] Argmax(float[] outputs, int width) =>
        Enumerable.Range(0, outputs.Length / width).Select(r => MulticlassScoringTask.ArgMax(outputs.AsSpan(r * width, width))).ToArray();

    /// <summary>The int8 model cut to its first output (a one-output Linear from the last layer's first row).</summary>
    private static QuantizedModel Slice(QuantizedModel model)
    {
        var layers = model.Layers.ToList();
        var last = (QuantizedLinear)layers[^1];
        var weights = last.Weights.Take(last.InFeatures).ToArray();
        float[] scales = last.WeightScales.Length == 1 ? last.WeightScales : [last.WeightScales[0]];
        layers[^1] = new QuantizedLinear(last.Name, last.InFeatures, 1, weights, scales, [last.Bias[0]], last.Input, last.Output, last.FusedReLU);
        return new QuantizedModel(model.InputShape, model.Input, layers, model.Output);
    }

    private sealed class FirstOutput : nn.Module<Tensor, Tensor>
    {
        public FirstOutput() : base(nameof(FirstOutput)) { }

        public override Tensor forward(Tensor input) => input[.., ..1];
    }

    /// <summary>Transforms with one model and saves another: a pipeline whose saved file is not what it scored with.</summary>
    private sealed class SavesAnother(ITransformer scores, ITransformer saves) : ITransformer
    {
        public bool IsRowToRowMapper => scores.IsRowToRowMapper;

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => scores.GetOutputSchema(inputSchema);

        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => scores.GetRowToRowMapper(inputSchema);

        public IDataView Transform(IDataView input) => scores.Transform(input);

        void ICanSaveModel.Save(ModelSaveContext ctx) => saves.Save(ctx);
    }
}
