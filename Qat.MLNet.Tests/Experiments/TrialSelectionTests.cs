using Microsoft.ML;
using Qat.MLNet.Experiments;
using Qat.MLNet.Tests.MLNet;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>
/// The best-trial rule with the defaults run first: a trial replaces the defaults only when its per-fold gains clearly
/// exceed their spread; without the defaults, or with a margin of 0, the best mean wins.
/// </summary>
[TestClass]
public sealed class TrialSelectionTests
{
    private static QatTrialResult Trial(int id, bool defaults, params double[] folds) => new()
    {
        Id = id,
        IsDefaults = defaults,
        Settings = QatTrialSettings.TrainerDefaults,
        Status = QatTrialStatus.Completed,
        Metric = folds.Average(),
        FoldMetrics = folds,
        ModelBytes = 100,
        LatencyMicroseconds = 1,
    };

    [TestMethod]
    public void NoisyGain_KeepsTheDefaults_SteadyGain_ReplacesThem()
    {
        var defaults = Trial(0, true, 0.90, 0.92, 0.91);
        var noisy = Trial(1, false, 0.96, 0.87, 0.95); // mean +0.017 but gains +0.06, -0.05, +0.04: SE 0.035
        var steady = Trial(2, false, 0.91, 0.93, 0.92); // +0.01 on every fold: SE 0

        var (gain, standardError) = TrialSelection.Gain(noisy, defaults, higherIsBetter: true);
        Assert.AreEqual(0.0167, gain, 1e-4);
        Assert.AreEqual(Math.Sqrt((0.0433 * 0.0433 + 0.0667 * 0.0667 + 0.0233 * 0.0233) / 2 / 3), standardError, 1e-4);

        Assert.AreSame(defaults, TrialSelection.Best([defaults, noisy], true, margin: 1));
        Assert.AreSame(noisy, TrialSelection.Best([defaults, noisy], true, margin: 0), "margin 0: the best mean");
        Assert.AreSame(steady, TrialSelection.Best([defaults, noisy, steady], true, margin: 1));
        Assert.AreSame(noisy, TrialSelection.Best([noisy, steady], true, margin: 1), "no defaults trial: the best mean");
    }

    [TestMethod]
    public void LowerIsBetter_GainsAreSigned_AndOneSplitComparesMeans()
    {
        var defaults = Trial(0, true, 2.0, 2.2, 2.1);
        var lower = Trial(1, false, 1.9, 2.1, 2.0);
        Assert.AreEqual(0.1, TrialSelection.Gain(lower, defaults, higherIsBetter: false).Gain, 1e-9);
        Assert.AreSame(lower, TrialSelection.Best([defaults, lower], higherIsBetter: false, margin: 1));
        Assert.AreSame(defaults, TrialSelection.Best([defaults, lower], higherIsBetter: true, margin: 1));

        var one = Trial(0, true, 0.80);
        var better = Trial(1, false, 0.81);
        var (g, se) = TrialSelection.Gain(better, one, true);
        Assert.AreEqual(0.01, g, 1e-9);
        Assert.AreEqual(0.0, se);
        Assert.AreSame(better, TrialSelection.Best([one, better], true, margin: 1), "one split has no spread: any gain counts");
    }

    [TestMethod]
    public void BrokenOrFailedTrials_AreNeverBest_AndAFailedDefaultsTrialLeavesThePlainRule()
    {
        var defaults = Trial(0, true, 0.90, 0.92, 0.91) with { Status = QatTrialStatus.Failed };
        var violated = Trial(1, false, 0.99, 0.99, 0.99) with { Status = QatTrialStatus.ConstraintViolated };
        var ordinary = Trial(2, false, 0.85, 0.86, 0.84);
        Assert.AreSame(ordinary, TrialSelection.Best([defaults, violated, ordinary], true, margin: 1));
        Assert.IsNull(TrialSelection.Best([defaults, violated], true, margin: 1));
    }

    [TestMethod]
    public async Task Experiment_WithDefaultsFirst_ReportsAndReturnsTheRulesBest()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticData.KeyedBlobs(ml, 120, seed: 1);
        var monitor = new BestRecorder();
        var result = await ml.CreateQatExperiment()
            .SetDataset(data, folds: 3)
            .SetMulticlassMetric()
            .SetSeed(3)
            .SetMaxModelToExplore(3)
            .SetDefaultsFirst()
            .SetMonitor(monitor)
            .SetTrialRunner(new Scripted([[0.90, 0.92, 0.91], [0.96, 0.87, 0.95], [0.91, 0.93, 0.92]]))
            .RunAsync();

        Assert.IsTrue(result.Trials[0].IsDefaults);
        Assert.AreEqual(2, result.BestTrial!.Id, "trial 1 has the best mean (0.927) but its gain is within its spread");
        CollectionAssert.AreEqual(new[] { 0, 2 }, monitor.Best.Select(t => t.Id).ToArray(), "the monitor hears the same rule");
        Assert.AreEqual(1.0, result.DefaultsMargin);
        Assert.AreEqual(0.01, result.GainOverDefaults!.Value.Gain, 1e-9);
        StringAssert.Contains(result.ToMarkdown(), "Best: trial 2, +0.0100");
        StringAssert.Contains(result.ToCsv().Split('\n')[1], ",true,0.9;0.92;0.91");

        var plain = await ml.CreateQatExperiment().SetDataset(data, folds: 3).SetMulticlassMetric().SetSeed(3).SetMaxModelToExplore(3)
            .SetDefaultsFirst(requiredStandardErrors: 0).SetTrialRunner(new Scripted([[0.90, 0.92, 0.91], [0.96, 0.87, 0.95], [0.91, 0.93, 0.92]])).RunAsync();
        Assert.AreEqual(1, plain.BestTrial!.Id, "margin 0: the best mean");
    }

    [TestMethod]
    public void NegativeOrNaNMargin_IsRefusedWithTheFix()
    {
        var experiment = new MLContext(1).CreateQatExperiment();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => experiment.SetDefaultsFirst(true, -1));
        StringAssert.Contains(e.Message, "0 (any better mean) or more");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => experiment.SetDefaultsFirst(true, double.NaN));
    }

    /// <summary>A runner that returns the given per-fold metrics, one trial after another.</summary>
    private sealed class Scripted(double[][] folds) : IQatTrialRunner
    {
        public Task<QatTrialResult> RunAsync(int id, QatTrialProposal proposal, int seed, CancellationToken cancellationToken) =>
            Task.FromResult(new QatTrialResult
            {
                Id = id, Settings = proposal.Settings, Status = QatTrialStatus.Completed, Metric = folds[id].Average(), FoldMetrics = folds[id],
                ModelBytes = 100, LatencyMicroseconds = 1,
            });
    }

    private sealed class BestRecorder : IQatExperimentMonitor
    {
        public List<QatTrialResult> Best { get; } = [];

        public void ReportRunningTrial(int id, QatTrialProposal proposal)
        {
        }

        public void ReportCompletedTrial(QatTrialResult result)
        {
        }

        public void ReportBestTrial(QatTrialResult result) => Best.Add(result);

        public void ReportFailTrial(QatTrialResult result, Exception exception)
        {
        }
    }
}
