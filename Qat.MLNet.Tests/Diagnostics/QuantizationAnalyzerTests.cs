using Qat.MLNet.Diagnostics;
using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tests.Onnx;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Diagnostics;

[TestClass]
[DoNotParallelize] // seeds TorchSharp's global generator
public sealed class QuantizationAnalyzerTests
{
    private const int Samples = 256;
    private static readonly ActivationShape Shape = ActivationShape.Vector(16);

    /// <summary>
    /// An MLP with per-tensor weight scales (qnnpack) whose fc2 has one output channel 40 times larger than the rest: that
    /// channel takes the whole int8 range, and every other channel of fc2 falls onto a few levels.
    /// </summary>
    private static nn.Module<Tensor, Tensor> MlpWithOutlierChannel()
    {
        manual_seed(23);
        var model = nn.Sequential(
            ("quant", new QuantStub()),
            ("fc1", nn.Linear(16, 32)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(32, 32)), ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(32, 6)),
            ("dequant", new DeQuantStub()));
        using (no_grad())
            ((TorchSharp.Modules.Linear)model[3]).weight![0].mul_(40);
        model.train();
        var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), QConfig.GetDefaultQat(QuantBackend.Qnnpack));
        using (NewDisposeScope())
        {
            for (int i = 0; i < 4; i++)
                qat.forward(randn(64, 16));
        }
        Quantizer.DisableObserver(qat);
        qat.eval();
        return qat;
    }

    /// <summary>The float model's own arg-max: the labels a perfect int8 model would reproduce.</summary>
    private static int[] FloatLabels(nn.Module<Tensor, Tensor> qat, float[] inputs)
    {
        Quantizer.DisableFakeQuant(qat);
        using var noGrad = no_grad();
        var outputs = qat.forward(tensor(inputs, [Samples, 16])).data<float>().ToArray();
        Quantizer.EnableFakeQuant(qat);
        return Enumerable.Range(0, Samples).Select(r => MulticlassScoringTask.ArgMax(outputs.AsSpan(r * 6, 6))).ToArray();
    }

    [TestMethod]
    public void Analyze_FindsTheOutlierLayer_AndTheEngineWithinOneStepOfFakeQuantEverywhere()
    {
        using var qat = MlpWithOutlierChannel();
        var inputs = OnnxTestModels.RandomInput(Samples, 16, 2);
        var analysis = QuantizationAnalyzer.Analyze(qat, Shape, inputs, Samples);
        Console.WriteLine(analysis.ToMarkdown());

        CollectionAssert.AreEqual(new[] { "fc1", "fc2", "fc3" }, analysis.Layers.Select(l => l.Name).ToArray());
        foreach (var layer in analysis.Layers)
            Assert.IsLessThanOrEqualTo(1, layer.MaxStepsFromFakeQuant, layer.Name);
        var fc2 = analysis.Layers[1];
        CollectionAssert.AreEqual(new[] { 0 }, fc2.OutlierChannels.ToArray());
        Assert.IsEmpty(analysis.Layers[0].OutlierChannels);
        Assert.AreEqual(fc2.Name, analysis.Layers.MinBy(l => l.WeightSqnrDecibels)!.Name, "the outlier layer's weights lose the most");
        // Noise accumulates: the SQNR after fc3 is below the SQNR after fc1.
        Assert.IsLessThan(analysis.Layers[0].SqnrDecibels, analysis.Layers[2].SqnrDecibels);
        Assert.IsTrue(analysis.Layers.All(l => l.FloatOutputMin <= l.FloatOutputMax && l.GridMin < l.GridMax));
        // The weight histogram on the grid: every weight counted once; fc2's other channels crowd the middle levels.
        Assert.AreEqual(32L * 32, fc2.WeightLevelCounts.Sum());
        Assert.IsGreaterThan(0.9, fc2.WeightLevelCounts.Skip(128 - 8).Take(17).Sum() / 1024.0);
    }

    [TestMethod]
    public void Analyze_WithAMetric_RanksLayersAndSuggestsTheFewestToKeepFloat()
    {
        using var qat = MlpWithOutlierChannel();
        var inputs = OnnxTestModels.RandomInput(Samples, 16, 3);
        var metric = QuantizationAnalyzer.Accuracy(FloatLabels(qat, inputs));
        var analysis = QuantizationAnalyzer.Analyze(qat, Shape, inputs, Samples, metric, maximumMetricDrop: 0.0);
        Console.WriteLine(analysis.ToMarkdown());

        Assert.AreEqual(1.0, analysis.FloatMetric);
        Assert.IsLessThan(1.0, analysis.Int8Metric!.Value, "the outlier costs the int8 model agreement with float");
        foreach (var layer in analysis.Layers)
        {
            // Each figure is the engine's metric with that layer alone in float.
            var mixed = Quantizer.Convert(qat, Shape, keepFloat: [layer.Name]);
            Assert.AreEqual(metric(mixed.Predict(inputs, Samples)), layer.MetricWithLayerFloat!.Value, 1e-12, layer.Name);
        }
        Assert.AreEqual("fc2", analysis.BySensitivity[0].Name);
        Assert.IsNotEmpty(analysis.SuggestedFloatLayers);
        var suggested = Quantizer.Convert(qat, Shape, keepFloat: analysis.SuggestedFloatLayers);
        Assert.AreEqual(metric(suggested.Predict(inputs, Samples)), analysis.SuggestedMetric!.Value, 1e-12);
        Assert.AreEqual(analysis.SuggestedMetric >= analysis.FloatMetric, analysis.MeetsTarget);

        var lenient = QuantizationAnalyzer.Analyze(qat, Shape, inputs, Samples, metric, maximumMetricDrop: 1.0);
        Assert.IsEmpty(lenient.SuggestedFloatLayers);
        Assert.IsTrue(lenient.MeetsTarget);
    }

    [TestMethod]
    public void Analyze_LeavesTheModelAsItWas_AndItsReportRoundTripsThroughJson()
    {
        using var qat = MlpWithOutlierChannel();
        qat.train();
        var fq = qat.modules().OfType<FakeQuantize>().First();
        fq.DisableFakeQuant();
        var inputs = OnnxTestModels.RandomInput(32, 16, 4);
        // Observers left on: the analysis must neither move them nor leave them off.
        Quantizer.EnableObserver(qat);
        var scalesBefore = qat.modules().OfType<FakeQuantize>().Select(f => f.Scale.data<float>().ToArray()).ToList();
        var analysis = QuantizationAnalyzer.Analyze(qat, Shape, inputs, 32);
        Assert.IsTrue(qat.training);
        Assert.IsFalse(fq.FakeQuantEnabled);
        Assert.IsTrue(qat.modules().OfType<FakeQuantize>().All(f => f.ObserverEnabled));
        CollectionAssert.AreEqual(scalesBefore.SelectMany(x => x).ToArray(), qat.modules().OfType<FakeQuantize>().SelectMany(f => f.Scale.data<float>().ToArray()).ToArray());
        Assert.IsTrue(qat.modules().OfType<FakeQuantize>().Skip(1).All(f => f.FakeQuantEnabled));

        var back = QuantizationAnalysis.FromJson(analysis.ToJson());
        Assert.HasCount(analysis.Layers.Count, back.Layers);
        Assert.AreEqual(analysis.Layers[1].WeightSqnrDecibels, back.Layers[1].WeightSqnrDecibels);
        CollectionAssert.AreEqual(analysis.Layers[1].OutlierChannels.ToArray(), back.Layers[1].OutlierChannels.ToArray());
        foreach (var layer in analysis.Layers)
            StringAssert.Contains(analysis.ToMarkdown(), $"| {layer.Name} |");
    }

    [TestMethod]
    public void Analyze_BadArguments_SayWhatIsWrong()
    {
        using var qat = MlpWithOutlierChannel();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => QuantizationAnalyzer.Analyze(qat, Shape, new float[17], 1)).Message, "need 16");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => QuantizationAnalyzer.Analyze(qat, Shape, new float[16], 1, maximumMetricDrop: 0.01)).Message, "metric");
    }
}
