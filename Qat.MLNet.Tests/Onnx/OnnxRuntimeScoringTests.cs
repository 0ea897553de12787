using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.OnnxRuntime;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>ONNX Runtime as Transform's block engine gives exactly the managed engine's columns.</summary>
[TestClass]
[DoNotParallelize] // trains with TorchSharp
public sealed class OnnxRuntimeScoringTests
{
    [TestMethod]
    public void WithOnnxRuntime_Transform_GivesTheManagedEnginesColumnsExactly()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticData.KeyedBlobs(ml, 600, seed: 1);
        var model = ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 2, ValidationFraction = 0,
        }).Fit(data);
        var rows = SyntheticData.Blobs(700, seed: 5);
        rows[300].Features[2] = float.NaN; // handled before the engine, as by the managed one
        var test = ml.Data.LoadFromEnumerable(rows); // the model reads Features only

        using var ort = model.WithOnnxRuntime(numberOfThreads: 2);
        var expected = model.Transform(test);
        var actual = ort.Transform(test);
        var expectedScores = expected.GetColumn<float[]>("Score").ToArray();
        var actualScores = actual.GetColumn<float[]>("Score").ToArray();
        for (int r = 0; r < rows.Count; r++)
            CollectionAssert.AreEqual(expectedScores[r], actualScores[r], $"row {r}");
        CollectionAssert.AreEqual(expected.GetColumn<uint>("PredictedLabel").ToArray(), actual.GetColumn<uint>("PredictedLabel").ToArray());
        Assert.IsTrue(actualScores[300].All(float.IsNaN));
        Assert.AreEqual(2, ort.Threads);
    }

    [TestMethod]
    public void WithOnnxRuntime_SaveAndPredictionEngine_UseThePlainQatTransformer()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Binary(300, seed: 2));
        var model = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(8), Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 1, ValidationFraction = 0 }).Fit(data);
        using var ort = model.WithOnnxRuntime();
        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "ort.zip");
        ml.Model.Save(ort, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        Assert.IsInstanceOfType<QatBinaryTransformer>(loaded);
        var engine = ml.Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(ort);
        var row = SyntheticData.Binary(1, seed: 9)[0];
        Assert.AreEqual(model.Model.Predict(row.Features)[0], engine.Predict(row).Score);
        CollectionAssert.AreEqual(model.Transform(data).GetColumn<float>("Score").ToArray(), ort.Transform(data).GetColumn<float>("Score").ToArray());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.WithOnnxRuntime(0));
        StringAssert.Contains(e.Message, "numberOfThreads");
    }
}
