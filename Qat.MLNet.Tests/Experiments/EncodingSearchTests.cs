using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Experiments;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>The search space's piecewise-linear encoding dimension: sampled, run, printed, and left out where the data is too wide.</summary>
[TestClass]
[DoNotParallelize] // trains with TorchSharp
public sealed class EncodingSearchTests
{
    private sealed class WideRow
    {
        [VectorType(130)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private static QatSearchSpace Small(IReadOnlyList<int> bins) => new()
    {
        FloatEpochs = (1, 2),
        QatEpochs = (1, 1),
        FreezeObserversAfterEpoch = (1, 1),
        FreezeBatchNormAfterEpoch = (1, 1),
        HiddenSizes = [[8]],
        BatchSizes = [32],
        PiecewiseLinearBins = bins,
    };

    [TestMethod]
    public async Task Trials_TryEveryBinCount_AndTheBestSettingsPrintAndApplyTheEncoding()
    {
        var ml = new MLContext(seed: 1);
        var result = await ml.CreateQatExperiment()
            .SetDataset(SyntheticData.KeyedBlobs(ml, 200, seed: 1), SyntheticData.KeyedBlobs(ml, 90, seed: 2))
            .SetMulticlassMetric()
            .SetSearchSpace(Small([0, 8]))
            .SetTuner(QatTuners.Grid())
            .SetSeed(3)
            .SetMaxModelToExplore(2)
            .RunAsync();
        CollectionAssert.AreEquivalent(new[] { 0, 8 }, result.Trials.Select(t => t.Settings.PiecewiseLinearBins).ToArray(), "the grid's innermost dimension");
        Assert.IsTrue(result.Trials.All(t => t.Status == QatTrialStatus.Completed), string.Join("\n", result.Trials.Select(t => t.Error)));
        var encoded = result.Trials.Single(t => t.Settings.PiecewiseLinearBins == 8);
        StringAssert.Contains(encoded.Settings.ToString(), "PiecewiseLinearBins = 8 }");
        Assert.AreEqual(8, encoded.Settings.ApplyTo(new QatMulticlassTrainer.Options()).PiecewiseLinearBins);
        Assert.DoesNotContain("PiecewiseLinearBins", result.Trials.Single(t => t.Settings.PiecewiseLinearBins == 0).Settings.ToString());
        StringAssert.EndsWith(result.ToCsv().Split('\n')[0], ",piecewise_linear_bins");
        Assert.AreNotEqual(new QatSearchSpace().Signature(), Small([0, 8]).Signature(), "a checkpoint of one space does not resume the other");
    }

    [TestMethod]
    public void SpaceAtTheTrainersDefaults_IsOnePoint_TheDefaultOptions_AndWidensByDimension()
    {
        var space = QatSearchSpace.AtTrainerDefaults();
        space.Validate();
        var grid = QatTuners.Grid();
        var only = grid.Propose(space, [])!;
        Assert.IsNull(grid.Propose(space, [new QatTrialResult { Id = 0, Settings = only.Settings, Status = QatTrialStatus.Completed, Metric = 0.5 }]), "one point");
        var applied = only.Settings.ApplyTo(new QatBinaryTrainer.Options());
        var defaults = new QatBinaryTrainer.Options();
        Assert.AreEqual(defaults.LearningRate, applied.LearningRate);
        Assert.AreEqual(defaults.WeightDecay, applied.WeightDecay);
        Assert.AreEqual(defaults.BatchSize, applied.BatchSize);
        Assert.AreEqual(defaults.FloatOptimizerSteps, applied.FloatOptimizerSteps);
        Assert.AreEqual(defaults.QatOptimizerSteps, applied.QatOptimizerSteps);
        Assert.IsNull(applied.NumberOfFloatEpochs);
        Assert.IsNull(applied.NumberOfEpochs);
        Assert.AreEqual(defaults.Network.Description, applied.Network.Description);
        Assert.AreEqual(defaults.PiecewiseLinearBins, applied.PiecewiseLinearBins);

        space.PiecewiseLinearBins = [8, 16];
        var history = new List<QatTrialResult>();
        while (grid.Propose(space, history) is { } p)
            history.Add(new QatTrialResult { Id = history.Count, Settings = p.Settings, Status = QatTrialStatus.Completed, Metric = 0.5 });
        CollectionAssert.AreEqual(new[] { 8, 16 }, history.Select(h => h.Settings.PiecewiseLinearBins).ToArray(), "the widened dimension alone varies");
    }

    [TestMethod]
    public async Task BinCounts_TheDataHasTooManyFeaturesFor_AreLeftOutOfTheRun_NotFailedTrials()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(0);
        List<WideRow> Rows(int n) => Enumerable.Range(0, n).Select(i => new WideRow
        {
            Features = Enumerable.Range(0, 130).Select(f => (float)random.NextDouble() + (f < 4 && i % 2 == 0 ? 1 : 0)).ToArray(),
            Label = i % 2 == 0,
        }).ToList();
        var result = await ml.CreateQatExperiment()
            .SetDataset(ml.Data.LoadFromEnumerable(Rows(120)), ml.Data.LoadFromEnumerable(Rows(60)))
            .SetBinaryMetric()
            .SetSearchSpace(Small([0, 16])) // 130 x 17 = 2,210 encoding units: above the 2,048 limit
            .SetSeed(3)
            .SetMaxModelToExplore(3)
            .RunAsync();
        Assert.HasCount(3, result.Trials);
        Assert.IsTrue(result.Trials.All(t => t.Status == QatTrialStatus.Completed && t.Settings.PiecewiseLinearBins == 0), string.Join("\n", result.Trials.Select(t => t.Error)));
    }
}
