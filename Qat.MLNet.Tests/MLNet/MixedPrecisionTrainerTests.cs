using Microsoft.ML;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Microsoft.ML.Data;
using Qat.MLNet.Trainers;
using SkiaSharp;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>The trainers' mixed precision (KeepFloatLayers, MaximumInt8MetricDrop), per-layer analysis and report folder.</summary>
[TestClass]
[DoNotParallelize] // trainers seed TorchSharp's global generator
public sealed class MixedPrecisionTrainerTests
{
    private static QatMulticlassTrainer.Options Options() =>
        new() { Network = QatNetwork.Mlp(16, 8), Seed = 2, NumberOfFloatEpochs = 2, NumberOfEpochs = 2, LearningRate = 0.01 };

    private static (MLContext Ml, IDataView Data) Blobs()
    {
        var ml = new MLContext(seed: 2);
        return (ml, ml.Data.LoadFromEnumerable(SyntheticData.Blobs(400, seed: 2)));
    }

    [TestMethod]
    public void Fit_KeepFloatLayers_TrainsAndRunsThemInFloat_AndTheModelSavesAndLoads()
    {
        var (ml, data) = Blobs();
        var options = Options();
        options.KeepFloatLayers = ["fc3", "net.fc1"];
        var model = QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data);
        var transformer = model.LastTransformer;

        CollectionAssert.AreEqual(new[] { typeof(FloatLinear), typeof(QuantizedLinear), typeof(FloatLinear) }, transformer.Model.Layers.Select(l => l.GetType()).ToArray());
        CollectionAssert.AreEqual(new[] { "net.fc1", "net.fc3" }, transformer.TrainingReport!.FloatLayers.ToArray());
        StringAssert.Contains(transformer.TrainingReport.FloatLayersReason, "KeepFloatLayers");
        // It learned (chance is 1/3), and the engine's float layers compute what the fake-quant model does.
        var report = transformer.TrainingReport;
        Assert.IsGreaterThan(0.6, ml.MulticlassClassification.Evaluate(model.Transform(data)).MacroAccuracy, report.ToString());
        Assert.AreEqual(report.FakeQuantized.Accuracy!.Value, report.Int8.Accuracy!.Value, 0.02, report.ToString());

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        CollectionAssert.AreEqual(
            model.Transform(data).GetColumn<VBuffer<float>>("Score").SelectMany(s => s.DenseValues()).ToArray(),
            loaded.Transform(data).GetColumn<VBuffer<float>>("Score").SelectMany(s => s.DenseValues()).ToArray());
    }

    [TestMethod]
    public void Fit_KeepFloatLayersNamingNoWeightedLayer_IsRefusedBeforeTraining_ListingTheLayers()
    {
        var (ml, data) = Blobs();
        var options = Options();
        options.KeepFloatLayers = ["relu1"];
        var e = Assert.ThrowsExactly<ArgumentException>(() => QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data));
        StringAssert.Contains(e.Message, "relu1");
        StringAssert.Contains(e.Message, "[fc1, fc2, fc3]");
        Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { KeepFloatLayers = ["fc1", "fc1"] }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { MaximumInt8MetricDrop = -0.1 }));
    }

    [TestMethod]
    public void Fit_MaximumInt8MetricDrop_KeepsLayersFloatUntilInt8MeetsIt_OrSaysItFellShort()
    {
        var (ml, data) = Blobs();
        var options = Options();
        options.NumberOfEpochs = 1;
        options.ValidationFraction = 0; // the analysis and the report's metrics then cover the same rows
        options.MaximumInt8MetricDrop = 0;
        var report = QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data).LastTransformer.TrainingReport!;
        Console.WriteLine(report);

        Assert.HasCount(3, report.Layers);
        bool met = report.Int8.Accuracy >= report.Float.Accuracy;
        Assert.IsTrue(met || report.FloatLayersReason!.Contains("still short", StringComparison.Ordinal), report.ToString());
        if (report.FloatLayers.Count > 0)
            StringAssert.Contains(report.FloatLayersReason, "MaximumInt8MetricDrop");
    }

    [TestMethod]
    public void Fit_ReportFolder_WritesMarkdownJsonAndReadablePlots()
    {
        var (ml, data) = Blobs();
        string folder = Path.Combine(Path.GetTempPath(), "qat-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = Options();
            options.ReportFolder = folder;
            var transformer = QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data).LastTransformer;

            var report = QatTrainingReport.FromJson(File.ReadAllText(Path.Combine(folder, "report.json")));
            Assert.AreEqual(transformer.TrainingReport!.Int8, report.Int8);
            Assert.HasCount(3, report.Layers);
            string md = File.ReadAllText(Path.Combine(folder, "report.md"));
            StringAssert.Contains(md, "| net.fc2 |");
            StringAssert.Contains(md, "![Loss per epoch](loss.png)");
            foreach (var png in new[] { "loss.png", "accuracy.png", "sqnr.png", "weights-net.fc1.png", "weights-net.fc2.png", "weights-net.fc3.png" })
                AssertIsAPlot(Path.Combine(folder, png));
            Assert.IsEmpty(Directory.GetFiles(folder, "*.tmp*"), "no temporary files are left");
        }
        finally
        {
            if (Directory.Exists(folder) && Environment.GetEnvironmentVariable("QAT_MLNET_KEEP_TEST_REPORT") is null)
                Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void Fit_ReportFolderThatCannotBeWritten_IsRefusedBeforeTraining_AndABlankOneAtCreation()
    {
        var (ml, data) = Blobs();
        string file = Path.GetTempFileName(); // a file where the folder should be
        try
        {
            var options = Options();
            options.ReportFolder = Path.Combine(file, "report");
            var e = Assert.ThrowsExactly<ArgumentException>(() => QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data));
            StringAssert.Contains(e.Message, "ReportFolder");
            StringAssert.Contains(e.Message, file);
            Assert.IsTrue(File.Exists(file), "the file in the way is left as it was");
        }
        finally
        {
            File.Delete(file);
        }
        Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { ReportFolder = "  " }));
    }

    /// <summary>
    /// A decodable image of the given size that is not all one colour: more than a handful of colours, and ink (pixels well
    /// away from the white background: text, lines, bars) on more than a few hundred of the sampled pixels. Never pixel-exact.
    /// </summary>
    internal static void AssertIsAPlot(string path, int width = 800, int height = 450)
    {
        Assert.IsTrue(File.Exists(path), path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap, $"{path} is not an image");
        Assert.AreEqual(width, bitmap.Width, path);
        Assert.AreEqual(height, bitmap.Height, path);
        var colours = new HashSet<SKColor>();
        int ink = 0;
        for (int y = 0; y < bitmap.Height; y += 3)
        {
            for (int x = 0; x < bitmap.Width; x += 3)
            {
                var c = bitmap.GetPixel(x, y);
                colours.Add(c);
                if (c.Red + c.Green + c.Blue < 600)
                    ink++;
            }
        }
        Assert.IsGreaterThan(8, colours.Count, $"{path}: {colours.Count} colours");
        Assert.IsGreaterThan(200, ink, $"{path}: {ink} of {(width / 3 + 1) * (height / 3 + 1)} sampled pixels carry ink");
    }
}
