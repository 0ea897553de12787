using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Scoring;
using Qat.MLNet.Testing;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

[TestClass]
[DoNotParallelize]
public sealed class QatBinaryTrainerTests
{
    private static MLContext _ml = null!;
    private static IDataView _data = null!;
    private static QatBinaryTransformer _model = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        _data = _ml.Data.LoadFromEnumerable(SyntheticData.Binary(800, seed: 1));
        _model = _ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(16), LearningRate = 0.01, Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 3, ValidationFraction = 0 }).Fit(_data);
    }

    [TestMethod]
    public void Fit_LinearlySeparableData_EvaluatesWellInInt8()
    {
        var metrics = _ml.BinaryClassification.Evaluate(_model.Transform(_data));
        var report = _model.TrainingReport!;
        Assert.IsGreaterThan(0.9, metrics.Accuracy, report.ToString());
        Assert.IsGreaterThan(0.95, metrics.AreaUnderRocCurve);
        Assert.AreEqual(metrics.Accuracy, report.Int8.Accuracy!.Value, 1e-9);
        Assert.AreEqual("binary classification", report.Task);
    }

    [TestMethod]
    public void Transform_Columns_AreTheLogitItsSigmoidAndItsSign()
    {
        var rows = SyntheticData.Binary(25, seed: 2);
        var scored = _model.Transform(_ml.Data.LoadFromEnumerable(rows));
        var scores = scored.GetColumn<float>("Score").ToArray();
        var probabilities = scored.GetColumn<float>("Probability").ToArray();
        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            float logit = _model.Model.Predict(rows[r].Features)[0];
            Assert.AreEqual(logit, scores[r]);
            Assert.AreEqual(1 / (1 + MathF.Exp(-logit)), probabilities[r], 1e-6f);
            Assert.AreEqual(logit > 0, predicted[r]);
        }
        Assert.AreEqual(BooleanDataViewType.Instance, scored.Schema["PredictedLabel"].Type);
    }

    [TestMethod]
    public void SaveAndLoad_InAFreshContext_ScoresIdentically() => Assert.That.ScoresEqualAfterReload(_model, _data);

    [TestMethod]
    public void PredictionEngineAndSaveLoad_GiveTheSamePredictions()
    {
        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "binary.zip");
        _ml.Model.Save(_model, _data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        var original = _ml.Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(_model);
        var reloaded = new MLContext().Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(loaded);
        foreach (var row in SyntheticData.Binary(20, seed: 3))
        {
            var a = original.Predict(row);
            var b = reloaded.Predict(row);
            Assert.AreEqual(a.Score, b.Score);
            Assert.AreEqual(a.Probability, b.Probability);
            Assert.AreEqual(a.PredictedLabel, b.PredictedLabel);
            Assert.AreEqual(_model.Model.Predict(row.Features)[0], a.Score);
        }
    }
}

/// <summary>What a prediction engine returns for the binary model.</summary>
public sealed class BinaryPrediction
{
    /// <summary>Logit.</summary>
    public float Score { get; set; }

    /// <summary>Sigmoid of the logit.</summary>
    public float Probability { get; set; }

    /// <summary>Logit &gt; 0.</summary>
    public bool PredictedLabel { get; set; }
}
