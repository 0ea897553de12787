using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>
/// <see cref="QatTrainerOptions.PiecewiseLinearBins"/>: the encoding's frozen layers in front of the MLP, in one network and
/// in an ensemble, through Fit, the int8 model and Save/Load; and its refusals.
/// </summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's process-wide generator
public sealed class PiecewiseLinearTrainerTests
{
    private sealed class CodeRow
    {
        [VectorType(3)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class WideRow
    {
        [VectorType(130)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    /// <summary>A code 0-9 whose exact values 2 and 7 are the positives (what a tree reads at once), and two noise features.</summary>
    private static IDataView Codes(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ =>
        {
            int code = random.Next(10);
            return new CodeRow { Features = [code, (float)random.NextDouble(), (float)(random.NextDouble() * 100)], Label = code is 2 or 7 };
        }).ToList());
    }

    /// <summary>The int8 layers' weights dequantized, row-major [out, in].</summary>
    private static float[] Dequantized(QuantizedLinear layer)
    {
        var w = layer.Weights;
        return w.Select((q, i) => q * layer.WeightScales[layer.WeightScales.Length == 1 ? 0 : i / layer.InFeatures]).ToArray();
    }

    [TestMethod]
    public void Encoding_FrozenLayersInFrontOfTheMlp_SurviveTraining_AndTheModelReloadsIdentically()
    {
        var ml = new MLContext(seed: 0);
        var train = Codes(ml, 400, 1);
        var test = Codes(ml, 300, 2);
        var model = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options
        {
            PiecewiseLinearBins = 8,
            EnsembleSize = 1,
            Network = QatNetwork.Mlp(16),
            Seed = 3,
        }).Fit(train);
        var report = model.TrainingReport!;
        StringAssert.Contains(report.Network, "piecewise-linear encoding (8 bins per feature) + MLP in-16-out");

        var layers = model.Model.Layers.OfType<QuantizedLinear>().ToList();
        Assert.HasCount(4, layers, "ple_ramps, ple_bins, fc1, fc2");
        var (ramps, bins) = (layers[0], layers[1]);
        Assert.AreEqual(3, ramps.InFeatures);
        Assert.AreEqual(ramps.OutFeatures, bins.InFeatures);
        Assert.AreEqual(bins.OutFeatures, layers[2].InFeatures);
        Assert.IsTrue(ramps.FusedReLU && bins.FusedReLU);
        // Frozen: every ramp still reads exactly one feature with weight 1 (training would have moved them), to within the
        // weight's int8 step (PyTorch's symmetric per-channel scale puts 1.0 at 127 / 127.5).
        var w = Dequantized(ramps);
        for (int r = 0; r < ramps.OutFeatures; r++)
        {
            var row = w.Skip(r * 3).Take(3).ToArray();
            Assert.AreEqual(1, row.Count(v => v != 0), $"ramp {r}");
            Assert.AreEqual(1f, row.Single(v => v != 0), 1f / 127, $"ramp {r}");
        }

        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        Assert.IsGreaterThanOrEqualTo(0.97, metrics.Accuracy, report.ToString());

        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "ple.zip");
        ml.Model.Save(model, train.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        CollectionAssert.AreEqual(model.Transform(test).GetColumn<float>("Score").ToArray(), loaded.Transform(test).GetColumn<float>("Score").ToArray());
    }

    [TestMethod]
    public void Encoding_InAnEnsemble_OneSharedEncodingFeedsTheMergedMembers()
    {
        var ml = new MLContext(seed: 0);
        var train = Codes(ml, 400, 1);
        var test = Codes(ml, 300, 2);
        var single = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PiecewiseLinearBins = 8, EnsembleSize = 1, Network = QatNetwork.Mlp(8), Seed = 3 }).Fit(train);
        var model = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PiecewiseLinearBins = 8, EnsembleSize = 3, Network = QatNetwork.Mlp(8), Seed = 3 }).Fit(train);
        Assert.AreEqual(3, model.TrainingReport!.EnsembleSize);
        var one = single.Model.Layers.OfType<QuantizedLinear>().ToList();
        var merged = model.Model.Layers.OfType<QuantizedLinear>().ToList();
        CollectionAssert.AreEqual(one.Take(2).Select(l => l.OutFeatures).ToArray(), merged.Take(2).Select(l => l.OutFeatures).ToArray(),
            "every member has the same bins: the merged network encodes once");
        Assert.AreEqual(24, merged[2].OutFeatures, "three members' fc1 side by side");
        Assert.IsGreaterThanOrEqualTo(0.97, ml.BinaryClassification.Evaluate(model.Transform(test)).Accuracy, model.TrainingReport.ToString());
    }

    [TestMethod]
    public void PiecewiseLinearBins_OutOfRange_NotAnMlp_OrTooWide_IsRefusedNamingTheFix()
    {
        var ml = new MLContext(seed: 0);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PiecewiseLinearBins = 1 })).Message, "PiecewiseLinearBins");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PiecewiseLinearBins = 65 })).Message, "between 2 and 64");
        var custom = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options
        {
            PiecewiseLinearBins = 8,
            Network = QatNetwork.Custom((i, o) => TorchSharp.torch.nn.Linear(i, o)),
        }));
        StringAssert.Contains(custom.Message, "PiecewiseLinearBins");
        StringAssert.Contains(custom.Message, "QatNetwork.Mlp");

        var random = new Random(0);
        var wide = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 60).Select(i => new WideRow
        {
            Features = Enumerable.Range(0, 130).Select(_ => (float)random.NextDouble()).ToArray(),
            Label = i % 2 == 0,
        }).ToList());
        var tooWide = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PiecewiseLinearBins = 15 }).Fit(wide));
        StringAssert.Contains(tooWide.Message, "2080 encoding units; at most 2048");
        StringAssert.Contains(tooWide.Message, "fewer bins");
    }
}
