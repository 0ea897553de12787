using Qat.MLNet.Experiments;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>The cost-frugal tuner's search logic on a synthetic objective (no training): start, determinism, progress.</summary>
[TestClass]
public sealed class CostFrugalTunerTests
{
    /// <summary>A smooth synthetic metric whose best point is far from the cheapest one: lr 0.005, 30 float and 12 QAT epochs.</summary>
    private static double Objective(QatTrialSettings s) =>
        -Math.Pow(Math.Log10(s.LearningRate / 0.005), 2) - Math.Pow((s.FloatEpochs!.Value - 30) / 55.0, 2) - Math.Pow((s.QatEpochs!.Value - 12) / 18.0, 2);

    private static List<QatTrialResult> Run(IQatTuner tuner, QatSearchSpace space, int trials)
    {
        var history = new List<QatTrialResult>();
        for (int i = 0; i < trials; i++)
        {
            var p = tuner.Propose(space, history)!;
            history.Add(new QatTrialResult { Id = i, Settings = p.Settings, Status = QatTrialStatus.Completed, Metric = Objective(p.Settings) });
        }
        return history;
    }

    [TestMethod]
    public void Propose_First_IsTheCheapestPoint()
    {
        var space = new QatSearchSpace();
        var first = QatTuners.CostFrugal(1).Propose(space, [])!.Settings;
        Assert.AreEqual(space.FloatEpochs.Min, first.FloatEpochs);
        Assert.AreEqual(space.QatEpochs.Min, first.QatEpochs);
        CollectionAssert.AreEqual(space.HiddenSizes.MinBy(h => h.Sum()), first.HiddenSizes);
        Assert.AreEqual(space.BatchSizes.Max(), first.BatchSize);
        Assert.AreEqual(1e-3, first.LearningRate, 1e-12);
    }

    [TestMethod]
    public void Propose_SameSeedAndHistory_SameProposals_AndFailedTrialsNeverBecomeTheIncumbent()
    {
        var space = new QatSearchSpace();
        var a = Run(QatTuners.CostFrugal(7), space, 25);
        var b = Run(QatTuners.CostFrugal(7), space, 25);
        CollectionAssert.AreEqual(a.Select(t => t.Settings).ToList(), b.Select(t => t.Settings).ToList());

        // The second start (the middle of the epoch ranges) scores worse, so the cheapest point stays the incumbent; then a
        // trial fails, and the next proposal steps from the incumbent in the opposite direction, not from the failure.
        var tuner = QatTuners.CostFrugal(7);
        var history = new List<QatTrialResult>();
        var p0 = tuner.Propose(space, history)!;
        history.Add(new QatTrialResult { Settings = p0.Settings, Status = QatTrialStatus.Completed, Metric = 0.5 });
        var middle = tuner.Propose(space, history)!;
        Assert.AreEqual((space.FloatEpochs.Min + space.FloatEpochs.Max + 1) / 2.0, middle.Settings.FloatEpochs!.Value, 1.0);
        history.Add(new QatTrialResult { Settings = middle.Settings, Status = QatTrialStatus.Completed, Metric = 0.4 });
        var p1 = tuner.Propose(space, history)!;
        history.Add(new QatTrialResult { Settings = p1.Settings, Status = QatTrialStatus.Failed, Error = "boom" });
        var p2 = tuner.Propose(space, history)!;
        // Opposite steps around the incumbent: the learning rate moved to the other side of 1e-3 (or stayed at a clamped end).
        double l0 = Math.Log(p0.Settings.LearningRate), l1 = Math.Log(p1.Settings.LearningRate), l2 = Math.Log(p2.Settings.LearningRate);
        Assert.IsTrue((l1 - l0) * (l2 - l0) <= 1e-12, $"{p0.Settings.LearningRate} {p1.Settings.LearningRate} {p2.Settings.LearningRate}");
    }

    [TestMethod]
    public void Search_OnASmoothObjective_MovesFromTheCheapPointTowardsTheBest_AndBeatsRandomOnAverage()
    {
        var space = new QatSearchSpace();
        double start = Objective(QatTuners.CostFrugal(0).Propose(space, [])!.Settings);
        double cfo = 0, random = 0;
        const int seeds = 10, trials = 40;
        for (int seed = 0; seed < seeds; seed++)
        {
            cfo += Run(QatTuners.CostFrugal(seed), space, trials).Max(t => t.Metric) / seeds;
            random += Run(QatTuners.Random(seed), space, trials).Max(t => t.Metric) / seeds;
        }
        Console.WriteLine($"start {start:F4}, cost-frugal best {cfo:F4}, random best {random:F4} (mean of {seeds} seeds, {trials} trials)");
        Assert.IsGreaterThan(start + 0.5 * (0 - start), cfo, "it closes at least half the gap to the optimum (0)");
        Assert.IsGreaterThan(random, cfo);
    }
}
