using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;
using Qat.MLNet.Inference;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>
/// The small-data default: several MLPs trained, merged into one wider network and converted once
/// (MlpEnsembleTests checks the merge's arithmetic; this checks the Fit around it).
/// </summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's process-wide generator
public sealed class EnsembleTrainerTests
{
    private static (IDataView Train, IDataView Test) Split(MLContext ml, string name)
    {
        var data = TabularDataSet.Shipped.Single(s => s.Name == name).Load(ml);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 0);
        return (split.TrainSet, split.TestSet);
    }

    [TestMethod]
    public void Ensemble_MembersTrainWithTheirOwnSeedsAndHoldouts_MergedModelIsOneWiderNetwork_ThatReloadsIdentically()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "iris");
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { EnsembleSize = 3, Seed = 4, Network = QatNetwork.Mlp(16, 8) })).Fit(train);
        var report = model.LastTransformer.TrainingReport!;

        Assert.AreEqual(3, report.EnsembleSize);
        CollectionAssert.AreEquivalent(new int?[] { 1, 2, 3 }, report.Epochs.Select(e => e.Member).Distinct().ToArray());
        for (int m = 1; m <= 3; m++)
            StringAssert.Contains(string.Join("\n", report.Phases), $"member {m} of 3 (seed {3 + m})");
        StringAssert.Contains(report.Phases[^2], "merged the 3 members into MLP in-48-24-out");
        StringAssert.Contains(report.Phases[^1], "calibration");
        StringAssert.Contains(report.ToString(), "member");
        var layers = model.LastTransformer.Model.Layers.OfType<QuantizedLinear>().ToList();
        CollectionAssert.AreEqual(new[] { 48, 24, 3 }, layers.Select(l => l.OutFeatures).ToArray(), "one network, three times as wide");
        Assert.IsGreaterThanOrEqualTo(0.9, ml.MulticlassClassification.Evaluate(model.Transform(test)).MacroAccuracy, report.ToString());

        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "iris-ensemble.zip");
        ml.Model.Save(model, train.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        CollectionAssert.AreEqual(
            model.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray(),
            loaded.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray());
        Assert.AreEqual(3, ((TransformerChain<ITransformer>)loaded).OfType<QatMulticlassTransformer>().Single().TrainingReport!.EnsembleSize);
    }

    [TestMethod]
    public void Ensemble_MembersSideBySide_GiveTheModelOfMembersOneAfterAnother_AndNameThemselvesInTheLog()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "iris");
        int memberLines = 0;
        ml.Log += (_, e) =>
        {
            if (e.RawMessage.StartsWith("[member ", StringComparison.Ordinal))
                Interlocked.Increment(ref memberLines);
        };
        float[] Scores(int? threads)
        {
            var options = new QatMulticlassTrainer.Options { EnsembleSize = 3, Seed = 4, Network = QatNetwork.Mlp(16, 8), NumberOfThreads = threads };
            var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Qat(options)).Fit(train);
            return model.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
        }
        var oneByOne = Scores(1); // NumberOfThreads 1: one member after another
        Assert.AreEqual(0, memberLines, "one member at a time logs as a single Fit does");
        var sideBySide = Scores(null); // up to one member per core
        CollectionAssert.AreEqual(oneByOne, sideBySide);
        if (Environment.ProcessorCount > 1)
            Assert.IsGreaterThan(0, memberLines, "members side by side name themselves in their messages");
    }

    [TestMethod]
    public void Ensemble_Regression_PredictsInTheLabelsUnits()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "diabetes");
        var model = ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { EnsembleSize = 2, Seed = 7, Network = QatNetwork.Mlp(32) }).Fit(train);
        Assert.AreEqual(2, model.TrainingReport!.EnsembleSize);
        var metrics = ml.Regression.Evaluate(model.Transform(test));
        Assert.IsGreaterThanOrEqualTo(0.3, metrics.RSquared, model.TrainingReport.ToString());
    }

    [TestMethod]
    public void Ensemble_RowsStoredInLabelOrder_Int8KeepsTheFloatError()
    {
        // The merged network's observers see all the rows at once: one pass in 64-row batches in the stored order kept the
        // first batch's range (the smallest labels) and clipped the rest (int8 loss 70 times the float one).
        var ml = new MLContext(seed: 0);
        var rows = SyntheticData.Regression(400, seed: 3).OrderBy(r => r.Label).ToList();
        var model = ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { EnsembleSize = 2, Seed = 7, Network = QatNetwork.Mlp(32) })
            .Fit(ml.Data.LoadFromEnumerable(rows));
        var report = model.TrainingReport!;
        Assert.IsLessThan(report.Float.Loss * 1.25, report.Int8.Loss, report.ToString());
        StringAssert.Contains(report.Phases[^1], "the 400 training rows once in one batch");
    }

    [TestMethod]
    public void CalibrationLength_IsWhatTheSmallestAveragingConstantNeeds_NoneForPlainMinMax()
    {
        using var moving = new Qat.MLNet.Quantization.FakeQuantize(Qat.MLNet.Quantization.Observers.MovingAverageMinMaxObserver.WithArgs(averagingConstant: 0.01f));
        using var fast = new Qat.MLNet.Quantization.FakeQuantize(Qat.MLNet.Quantization.Observers.MovingAverageMinMaxObserver.WithArgs(averagingConstant: 0.5f));
        using var plain = new Qat.MLNet.Quantization.FakeQuantize(Qat.MLNet.Quantization.Observers.MinMaxObserver.WithArgs());
        Assert.AreEqual(459, Qat.MLNet.Training.CalibrationLength.Chunks(moving)); // 0.99^459 < 0.01 <= 0.99^458
        Assert.AreEqual(7, Qat.MLNet.Training.CalibrationLength.Chunks(fast));
        Assert.AreEqual(0, Qat.MLNet.Training.CalibrationLength.Chunks(plain), "a plain min/max needs one pass, no more");
        Assert.AreEqual(370, Qat.MLNet.Training.CalibrationLength.ChunkRows(370, 13, 64), "small data: one chunk");
        Assert.AreEqual(4096, Qat.MLNet.Training.CalibrationLength.ChunkRows(1_000_000, 64, 64));
        Assert.AreEqual(83, Qat.MLNet.Training.CalibrationLength.ChunkRows(300, 200_000, 64), "64 MB of features");
        Assert.AreEqual(64, Qat.MLNet.Training.CalibrationLength.ChunkRows(300, 2_000_000, 64), "never less than a training batch");
        Assert.AreEqual(10, Qat.MLNet.Training.CalibrationLength.ChunkRows(10, 4, 64));
    }

    [TestMethod]
    public void Defaults_ChooseTheEnsembleOnlyForSmallDataAndTrainerChosenEpochs()
    {
        Assert.AreEqual(QatDefaults.EnsembleSize, new QatMulticlassTrainer.Options().ResolveEnsembleSize(QatDefaults.MaximumRowsForEnsemble));
        Assert.AreEqual(1, new QatMulticlassTrainer.Options().ResolveEnsembleSize(QatDefaults.MaximumRowsForEnsemble + 1));
        Assert.AreEqual(1, new QatMulticlassTrainer.Options { NumberOfEpochs = 3 }.ResolveEnsembleSize(100), "epochs set: one network for them");
        Assert.AreEqual(1, new QatMulticlassTrainer.Options { NumberOfFloatEpochs = 0 }.ResolveEnsembleSize(100));
        Assert.AreEqual(1, new QatMulticlassTrainer.Options { Network = QatNetwork.Cnn(new ActivationShape(1, 8, 8)) }.ResolveEnsembleSize(100), "only the built-in MLP merges");
        Assert.AreEqual(3, new QatMulticlassTrainer.Options { EnsembleSize = 3 }.ResolveEnsembleSize(1_000_000), "an explicit size holds on any data");
    }

    [TestMethod]
    public void EnsembleSize_OutOfRangeOrNotAnMlp_IsRefusedNamingIt()
    {
        var ml = new MLContext();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { EnsembleSize = 0 })).Message, "EnsembleSize");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { EnsembleSize = 17 })).Message, "between 1 and 16");
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            EnsembleSize = 2,
            Network = QatNetwork.Custom((i, o) => TorchSharp.torch.nn.Linear(i, o)),
        }));
        StringAssert.Contains(e.Message, "EnsembleSize");
        StringAssert.Contains(e.Message, "QatNetwork.Mlp");
    }
}
