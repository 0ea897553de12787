using Qat.MLNet.Experiments;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>
/// A search space whose training length is optimizer steps (the trainer's own budget rule) instead of fixed epochs: every
/// tuner proposes steps and no epochs, the trainer options get them, and epoch spaces are unchanged.
/// </summary>
[TestClass]
public sealed class SearchBudgetTests
{
    private static QatSearchSpace Steps() => new() { Budget = QatSearchBudget.OptimizerSteps, FloatOptimizerSteps = (200, 2000), QatOptimizerSteps = (100, 800) };

    private static QatTrialResult Done(QatTrialProposal p, int id, double metric) =>
        new() { Id = id, Settings = p.Settings, Rung = p.Rung, Status = QatTrialStatus.Completed, Metric = metric, FoldMetrics = [metric] };

    [TestMethod]
    public void EveryTuner_ProposesStepsWithinTheRanges_AndNoEpochs()
    {
        var space = Steps();
        foreach (var tuner in new[] { QatTuners.Random(1), QatTuners.Grid(), QatTuners.SuccessiveHalving(1), QatTuners.CostFrugal(1) })
        {
            var history = new List<QatTrialResult>();
            for (int i = 0; i < 12; i++)
            {
                var p = tuner.Propose(space, history)!;
                Assert.IsNull(p.Settings.FloatEpochs, tuner.GetType().Name);
                Assert.IsNull(p.Settings.QatEpochs, tuner.GetType().Name);
                Assert.IsNotNull(p.Settings.FloatOptimizerSteps);
                Assert.IsNotNull(p.Settings.QatOptimizerSteps);
                // Successive halving's lower rungs run a share of the steps; the others stay inside the ranges.
                Assert.IsLessThanOrEqualTo(2000, p.Settings.FloatOptimizerSteps!.Value);
                Assert.IsLessThanOrEqualTo(800, p.Settings.QatOptimizerSteps!.Value);
                if (p.Rung == 0 && tuner.GetType().Name != "SuccessiveHalvingTuner")
                    Assert.IsGreaterThanOrEqualTo(200, p.Settings.FloatOptimizerSteps.Value);
                history.Add(Done(p, i, 0.5 + 0.01 * (i % 5)));
            }
        }
    }

    [TestMethod]
    public void Grid_TriesTheEndsAndTheLogMiddle_OfTheSteps()
    {
        var space = new QatSearchSpace
        {
            Budget = QatSearchBudget.OptimizerSteps, FloatOptimizerSteps = (100, 10_000), QatOptimizerSteps = (50, 50),
            Backends = [Qat.MLNet.Quantization.QuantBackend.Fbgemm], Observers = [QatObserverKind.MinMax], HiddenSizes = [[8]], BatchSizes = [32],
            LearningRate = (1e-3, 1e-3), WeightDecay = (1e-4, 1e-4),
        };
        var grid = QatTuners.Grid();
        var seen = new List<int>();
        var history = new List<QatTrialResult>();
        while (grid.Propose(space, history) is { } p)
        {
            seen.Add(p.Settings.FloatOptimizerSteps!.Value);
            Assert.AreEqual(50, p.Settings.QatOptimizerSteps);
            history.Add(Done(p, history.Count, 0.5));
        }
        CollectionAssert.AreEqual(new[] { 100, 1000, 10_000 }, seen);
    }

    [TestMethod]
    public void SuccessiveHalving_ScalesTheStepsOfItsLowerRungs()
    {
        var tuner = QatTuners.SuccessiveHalving(3, configurations: 9, eta: 3);
        var space = Steps();
        var first = tuner.Propose(space, [])!;
        Assert.AreEqual(0, first.Rung);
        // Rung 0 runs 1/9 of the sampled steps: at most 2000 / 9, rounded up.
        Assert.IsLessThanOrEqualTo(223, first.Settings.FloatOptimizerSteps!.Value);
    }

    [TestMethod]
    public void StepsReachTheTrainerOptions_AndTheCodeItPrints()
    {
        var settings = QatTrialSettings.TrainerDefaults with { FloatOptimizerSteps = 900, QatOptimizerSteps = 300 };
        var options = settings.ApplyTo(new QatMulticlassTrainer.Options());
        Assert.IsNull(options.NumberOfFloatEpochs);
        Assert.AreEqual(900, options.FloatOptimizerSteps);
        Assert.AreEqual(300, options.QatOptimizerSteps);
        StringAssert.Contains(settings.ToString(), "FloatOptimizerSteps = 900, QatOptimizerSteps = 300,");
        Assert.DoesNotContain("OptimizerSteps", QatTrialSettings.TrainerDefaults.ToString(), "no steps: the trainer's defaults, not printed");
        Assert.AreEqual(QatDefaults.FloatOptimizerSteps, QatTrialSettings.TrainerDefaults.ApplyTo(new QatMulticlassTrainer.Options()).FloatOptimizerSteps);
    }

    [TestMethod]
    public void Signature_OfAnEpochSpace_IsUnchanged_AndAStepsSpaceHasItsOwn()
    {
        var epochs = new QatSearchSpace();
        StringAssert.EndsWith(epochs.Signature(), ";(1E-05, 0.01)", "an epoch space's signature is what older checkpoints hold");
        Assert.AreNotEqual(epochs.Signature(), Steps().Signature());
        Assert.AreNotEqual(Steps().Signature(), new QatSearchSpace { Budget = QatSearchBudget.OptimizerSteps }.Signature());
    }

    [TestMethod]
    public void BadStepRanges_AreRefusedByName()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new QatSearchSpace { FloatOptimizerSteps = (0, 10) }.Validate());
        StringAssert.Contains(e.Message, "FloatOptimizerSteps");
        e = Assert.ThrowsExactly<ArgumentException>(() => new QatSearchSpace { QatOptimizerSteps = (10, 5) }.Validate());
        StringAssert.Contains(e.Message, "QatOptimizerSteps");
    }
}
