using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>
/// A new user's first Fit: the simple catalog overload with no options, on small public data that ships in examples/data.
/// The floors are ones the defaults before adaptive budgets, standardization and early stopping failed (wine at chance
/// 0.34, breast cancer 0.72 without a normalizer, diabetes R² -0.41); the benchmark `tabular` compares with ML.NET's trainers.
/// </summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's process-wide generator
public sealed class TrainerDefaultsTests
{
    private static (IDataView Train, IDataView Test) Split(MLContext ml, string name)
    {
        var data = TabularDataSet.Shipped.Single(s => s.Name == name).Load(ml);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 0);
        return (split.TrainSet, split.TestSet);
    }

    [TestMethod]
    public void Multiclass_WineRawFeaturesNoNormalizer_ReachesNinetyPercent()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "wine");
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Qat()).Fit(train);

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        var report = model.LastTransformer.TrainingReport!;
        Assert.IsGreaterThanOrEqualTo(0.9, metrics.MacroAccuracy, report.ToString());
        Assert.IsNotNull(model.LastTransformer.Model.Standardization, "vector networks standardize by default");
        // 133 training rows: an ensemble of five networks by default, each early-stopped on its own held-out rows.
        Assert.AreEqual(QatDefaults.EnsembleSize, report.EnsembleSize);
        StringAssert.Contains(report.Phases[0], "member 1 of 5");
        StringAssert.Contains(report.Phases[0], "epochs chosen for 1500 optimizer steps");
        Assert.AreEqual("training data", report.EvaluatedOn, "no row is held out from the merged network: each member held out its own");
    }

    [TestMethod]
    public void Binary_BreastCancerDefaults_ReachesNinetyFivePercent()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "breast-cancer");
        var model = ml.BinaryClassification.Trainers.Qat().Fit(train);

        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.Accuracy, model.TrainingReport!.ToString());
        Assert.IsGreaterThanOrEqualTo(0.98, metrics.AreaUnderRocCurve);
    }

    [TestMethod]
    public void Regression_DiabetesDefaults_FitsInTheLabelsUnits()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "diabetes");
        // One seed for both Fits (the default takes the next seed from the MLContext, so the two would differ in their
        // initialisation and shuffling, not only in the label's units).
        var model = ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { Seed = 7 }).Fit(train);
        var metrics = ml.Regression.Evaluate(model.Transform(test));
        Assert.IsGreaterThanOrEqualTo(0.3, metrics.RSquared, model.TrainingReport!.ToString());

        // The same data with the label in other units (x 1000, + 5000) fits as well: the trainer standardizes the label.
        var scaled = ml.Transforms.CustomMapping<LabelRow, LabelRow>((input, output) => output.Label = input.Label * 1000 + 5000, contractName: null);
        var scaledModel = ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { Seed = 7 }).Fit(scaled.Fit(train).Transform(train));
        var scaledTest = scaled.Fit(test).Transform(test);
        var scaledMetrics = ml.Regression.Evaluate(scaledModel.Transform(scaledTest));
        Assert.AreEqual(metrics.RSquared, scaledMetrics.RSquared, 0.02, "R² must not depend on the label's units");
        var task = (RegressionScoringTask)typeof(QatTransformerBase).GetProperty("Task", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(scaledModel)!;
        Assert.IsGreaterThan(1000f, task.LabelScale, "the mapping back to the label's units is kept with the model");
    }

    private sealed class LabelRow
    {
        public float Label { get; set; }
    }

    [TestMethod]
    public void ExplicitEpochs_AreRunExactly_WithoutEarlyStopping()
    {
        var ml = new MLContext(seed: 0);
        var (train, _) = Split(ml, "wine");
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { NumberOfFloatEpochs = 3, NumberOfEpochs = 2 })).Fit(train);
        var report = model.LastTransformer.TrainingReport!;
        Assert.HasCount(5, report.Epochs);
        Assert.AreEqual(3, report.Epochs.Count(e => e.Phase == QatTrainingPhase.Float));
        Assert.IsNull(report.KeptFloatEpoch);
        Assert.IsNull(report.KeptQatEpoch);
        StringAssert.Contains(report.Phases[0], "3 epochs as set");
    }

    [TestMethod]
    public void FeatureScalingNone_LeavesTheInputsAsTheyAre()
    {
        var ml = new MLContext(seed: 0);
        var (train, _) = Split(ml, "iris");
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { FeatureScaling = QatFeatureScaling.None, NumberOfFloatEpochs = 1, NumberOfEpochs = 1 })).Fit(train);
        Assert.IsNull(model.LastTransformer.Model.Standardization);
    }

    [TestMethod]
    public void Standardization_IsSavedWithTheModel_AndScoresIdenticallyAfterReload()
    {
        var ml = new MLContext(seed: 0);
        var (train, test) = Split(ml, "wine");
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { NumberOfFloatEpochs = 5, NumberOfEpochs = 3 })).Fit(train);
        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "wine.zip");
        ml.Model.Save(model, train.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        var expected = model.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
        var actual = loaded.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
        CollectionAssert.AreEqual(expected, actual);
        var reloaded = ((TransformerChain<ITransformer>)loaded).OfType<QatMulticlassTransformer>().Single();
        CollectionAssert.AreEqual(model.LastTransformer.Model.Standardization!.Scale, reloaded.Model.Standardization!.Scale);
    }

    [TestMethod]
    public void PositiveClassWeight_RarePositives_AreFoundMoreOften()
    {
        var ml = new MLContext(seed: 0);
        // About one row in eight is positive.
        var rows = SyntheticData.Binary(800, seed: 3).Select(r => new BinaryRow { Features = r.Features, Label = r.Features[0] + 0.5f * r.Features[1] > 1.2f }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        int positives = rows.Count(r => r.Label);
        Assert.IsLessThan(rows.Count / 6, positives);

        int Found(double weight)
        {
            var model = ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options
            {
                Network = QatNetwork.Mlp(8), NumberOfFloatEpochs = 2, NumberOfEpochs = 1, ValidationFraction = 0, Seed = 1, PositiveClassWeight = weight,
            }).Fit(data);
            var predicted = model.Transform(data).GetColumn<bool>("PredictedLabel").ToArray();
            return rows.Where((r, i) => r.Label && predicted[i]).Count();
        }

        Assert.IsGreaterThan(Found(1), Found(7), "weighting the positives' loss finds more of them");
    }

    [TestMethod]
    public void ClassWeightingBalanced_RareClass_IsFoundMoreOftenThanWithNone()
    {
        var ml = new MLContext(seed: 0);
        // About one row in ten is "rare"; the rest split evenly between "a" and "b".
        var rows = SyntheticData.Binary(900, seed: 3).Select(r => new BlobRow
        {
            Features = r.Features,
            Label = r.Features[0] + 0.5f * r.Features[1] > 1.4f ? "rare" : r.Features[2] > 0 ? "a" : "b",
        }).ToList();
        int rare = rows.Count(r => r.Label == "rare");
        Assert.IsLessThan(rows.Count / 8, rare);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        VBuffer<ReadOnlyMemory<char>> keys = default;
        data.Schema["Label"].GetKeyValues(ref keys);
        var names = keys.DenseValues().Select(k => k.ToString()).ToArray();

        int Found(QatClassWeighting weighting)
        {
            var model = ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
            {
                Network = QatNetwork.Mlp(16), NumberOfFloatEpochs = 10, NumberOfEpochs = 2, ValidationFraction = 0, Seed = 1, ClassWeighting = weighting,
            }).Fit(data);
            var predicted = model.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();
            return rows.Where((r, i) => r.Label == "rare" && names[(int)predicted[i] - 1] == "rare").Count();
        }

        int none = Found(QatClassWeighting.None), balanced = Found(QatClassWeighting.Balanced);
        Assert.IsGreaterThan(none, balanced, "weighting the classes alike finds more of the rare one");
    }

    [TestMethod]
    public void ClassWeightingBalanced_WeighsEachClassByRowsOverClassesTimesItsRows()
    {
        var label = SyntheticData.KeyedBlobs(new MLContext(seed: 0), 30, seed: 1).Schema["Label"]; // 3 classes
        var task = Qat.MLNet.Tasks.MulticlassTrainingTask.FromLabel(label, QatClassWeighting.Balanced);
        var weighted = (Qat.MLNet.Tasks.MulticlassTrainingTask)task.WithLabelCounts(new Dictionary<float, long> { [0] = 76, [2] = 9 });
        // 85 rows over the 2 classes present: 85 / (2 x 76) and 85 / (2 x 9); class 1 has no rows and keeps 1.
        CollectionAssert.AreEqual(new[] { 85f / 152, 1f, 85f / 18 }, weighted.ClassWeights!.ToArray());
        var none = Qat.MLNet.Tasks.MulticlassTrainingTask.FromLabel(label, QatClassWeighting.None);
        Assert.IsNull(((Qat.MLNet.Tasks.MulticlassTrainingTask)none.WithLabelCounts(new Dictionary<float, long> { [0] = 76, [2] = 9 })).ClassWeights);
    }

    [TestMethod]
    public void BudgetAndValidationOptions_OutOfRange_AreRefusedNamingThem()
    {
        void Refused(Action<QatMulticlassTrainer.Options> set, string name)
        {
            var options = new QatMulticlassTrainer.Options();
            set(options);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext().MulticlassClassification.Trainers.Qat(options));
            StringAssert.Contains(e.Message, name);
        }
        Refused(o => o.FloatOptimizerSteps = 0, "FloatOptimizerSteps");
        Refused(o => o.QatOptimizerSteps = -5, "QatOptimizerSteps");
        Refused(o => o.MaximumEpochsPerPhase = 0, "MaximumEpochsPerPhase");
        Refused(o => o.MaximumTrainingTimeInSeconds = double.NaN, "MaximumTrainingTimeInSeconds");
        Refused(o => o.EarlyStoppingPatience = 0, "EarlyStoppingPatience");
        Refused(o => o.ValidationFraction = 0.6, "ValidationFraction");
        Refused(o => o.ValidationFraction = -0.1, "ValidationFraction");
        Refused(o => o.FeatureScaling = (QatFeatureScaling)42, "FeatureScaling");
        Refused(o => o.ClassWeighting = (QatClassWeighting)7, "ClassWeighting");
        Refused(o => o.NumberOfEpochs = 0, "NumberOfEpochs");
    }

    [TestMethod]
    public void FeatureStandardization_BadValues_AreRefusedNamingThem()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new Qat.MLNet.Inference.FeatureStandardization([1f, 2f], [1f]));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new Qat.MLNet.Inference.FeatureStandardization([float.NaN], [1f])).Message, "mean[0]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new Qat.MLNet.Inference.FeatureStandardization([0f, 0f], [1f, 0f])).Message, "scale[1]");
        var fromMoments = Qat.MLNet.Inference.FeatureStandardization.FromMoments([5.0, 1.0], [0.0, 4.0]);
        CollectionAssert.AreEqual(new[] { 1f, 0.25f }, fromMoments.Scale, "a constant feature keeps scale 1");
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(-1.0)]
    [DataRow(double.NaN)]
    public void PositiveClassWeight_NotPositive_IsRefusedWhenTheTrainerIsCreated(double weight)
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext().BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { PositiveClassWeight = weight }));
        StringAssert.Contains(e.Message, "PositiveClassWeight");
    }
}
