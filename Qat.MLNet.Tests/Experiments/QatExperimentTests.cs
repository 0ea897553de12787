using Microsoft.ML;
using Qat.MLNet.Experiments;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.MLNet;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>Experiments: the same seed gives the same table; constraints, cancellation, resume and failed trials behave.</summary>
[TestClass]
[DoNotParallelize] // trains with TorchSharp
public sealed class QatExperimentTests
{
    private static MLContext _ml = null!;
    private static IDataView _train = null!;
    private static IDataView _validation = null!;

    [ClassInitialize]
    public static void Data(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        _train = SyntheticData.KeyedBlobs(_ml, 240, seed: 1);
        _validation = SyntheticData.KeyedBlobs(_ml, 90, seed: 2);
    }

    private static QatSearchSpace Small() => new()
    {
        Backends = [QuantBackend.Fbgemm, QuantBackend.Qnnpack],
        FloatEpochs = (1, 3),
        QatEpochs = (1, 2),
        FreezeObserversAfterEpoch = (1, 1),
        FreezeBatchNormAfterEpoch = (1, 1),
        HiddenSizes = [[4], [32]],
        BatchSizes = [32],
    };

    private static QatExperiment Experiment(int trials, int seed = 5) => _ml.CreateQatExperiment()
        .SetDataset(_train, _validation)
        .SetMulticlassMetric()
        .SetSearchSpace(Small())
        .SetSeed(seed)
        .SetMaxModelToExplore(trials)
        .SetTrainingTimeInSeconds(300);

    [TestMethod]
    public async Task ReportFolder_OfAnExperiment_HoldsTheTablesAndAParetoPlot()
    {
        var result = await Experiment(3).RunAsync();
        string folder = Path.Combine(Path.GetTempPath(), "qat-experiment-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = Qat.MLNet.Reports.QatReportFolder.Write(folder, result);
            CollectionAssert.AreEquivalent(new[] { "pareto.png", "trials.csv", "experiment.json", "experiment.md" }, files.Select(Path.GetFileName).ToArray());
            StringAssert.StartsWith(File.ReadAllText(Path.Combine(folder, "trials.csv")), "id,status,metric");
            Assert.HasCount(3, System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "experiment.json"))).RootElement.EnumerateArray().ToList());
            StringAssert.Contains(File.ReadAllText(Path.Combine(folder, "experiment.md")), "](pareto.png)");
            MixedPrecisionTrainerTests.AssertIsAPlot(Path.Combine(folder, "pareto.png"), 1200, 450);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public async Task SetDefaultsFirst_RunsTheTrainersDefaultsFirst_AndTheTunerProposesAsWithoutThem()
    {
        var plain = await Experiment(2).RunAsync();
        var withDefaults = await Experiment(3).SetDefaultsFirst().RunAsync();
        Assert.HasCount(3, withDefaults.Trials);
        var first = withDefaults.Trials[0];
        Assert.IsTrue(first.IsDefaults);
        Assert.AreEqual(QatTrialSettings.TrainerDefaults, first.Settings);
        Assert.IsNull(first.Settings.FloatEpochs, "epochs chosen from the data, as Trainers.Qat() chooses them");
        StringAssert.Contains(first.Settings.ToString(), "NumberOfFloatEpochs = null");
        CollectionAssert.AreEqual(plain.Trials.Select(t => t.Settings).ToList(), withDefaults.Trials.Skip(1).Select(t => t.Settings).ToList());
        Assert.IsFalse(withDefaults.Trials.Skip(1).Any(t => t.IsDefaults));
        Assert.IsGreaterThanOrEqualTo(first.Metric, withDefaults.BestTrial!.Metric);
    }

    [TestMethod]
    public async Task RunAsync_SameSeed_SameTable()
    {
        var first = await Experiment(3).RunAsync();
        var second = await Experiment(3).RunAsync();
        Assert.HasCount(3, first.Trials);
        for (int i = 0; i < 3; i++)
        {
            Assert.AreEqual(first.Trials[i].Settings, second.Trials[i].Settings);
            Assert.AreEqual(first.Trials[i].Metric, second.Trials[i].Metric);
            Assert.AreEqual(first.Trials[i].ModelBytes, second.Trials[i].ModelBytes);
        }
        Assert.IsNotNull(first.BestTrial);
        Assert.AreEqual(first.Trials.Max(t => t.Metric), first.BestTrial.Metric);
        StringAssert.Contains(first.ToMarkdown(), "**best**");
        StringAssert.StartsWith(first.ToCsv(), "id,status,metric");
        StringAssert.Contains(first.ToJson(), "\"LearningRate\"");
        Assert.IsNotEmpty(first.ParetoFront);
    }

    [TestMethod]
    public async Task RunAsync_ModelBytesConstraint_ViolatorsAreRecordedNeverBest()
    {
        // [4] hidden units make a model of 144 bytes, [32] of 564-696.
        var result = await Experiment(6).SetConstraints(new QatExperimentConstraints { MaximumModelBytes = 400 }).RunAsync();
        var violators = result.Trials.Where(t => t.Status == QatTrialStatus.ConstraintViolated).ToList();
        Assert.IsNotEmpty(violators, result.ToMarkdown());
        Assert.IsTrue(violators.All(t => t.ModelBytes > 400 && t.Violations.Single().StartsWith("model ", StringComparison.Ordinal)));
        Assert.IsTrue(result.BestTrial is null || result.BestTrial.ModelBytes <= 400);
        Assert.IsFalse(result.ParetoFront.Any(t => t.Status != QatTrialStatus.Completed));
    }

    [TestMethod]
    public async Task RunAsync_CancelledMidTrial_ReturnsTheBestSoFar()
    {
        using var cancel = new CancellationTokenSource();
        var monitor = new Monitor { OnRunning = id => { if (id == 1) cancel.CancelAfter(50); } };
        var big = Small();
        big.FloatEpochs = (200, 200); // long enough to be cancelled inside
        var result = await Experiment(5).SetSearchSpace(big).SetMaxModelToExplore(1).RunAsync(); // trial 0 alone, for its settings
        var run = await Experiment(5).SetSearchSpace(big).SetMonitor(monitor).RunAsync(cancel.Token);
        Assert.IsTrue(run.Cancelled);
        Assert.HasCount(1, run.Trials, "the cancelled trial is not kept");
        Assert.AreEqual(result.Trials[0].Settings, run.BestTrial!.Settings);
        Assert.AreEqual(1, monitor.Completed.Count(r => r.Status == QatTrialStatus.Cancelled));
    }

    [TestMethod]
    public async Task RunAsync_FromACheckpoint_ResumesWithoutRerunning()
    {
        string folder = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "experiment");
        await Experiment(2).SetCheckpoint(folder).RunAsync();
        var monitor = new Monitor();
        var resumed = await Experiment(4).SetCheckpoint(folder).SetMonitor(monitor).RunAsync();
        var fresh = await Experiment(4).RunAsync();
        Assert.HasCount(4, resumed.Trials);
        Assert.HasCount(2, monitor.Running, "only the two new trials run");
        for (int i = 0; i < 4; i++)
            Assert.AreEqual(fresh.Trials[i].Settings, resumed.Trials[i].Settings);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Experiment(4, seed: 6).SetCheckpoint(folder).RunAsync());
        StringAssert.Contains(e.Message, "written by another experiment");
    }

    [TestMethod]
    public async Task RunAsync_FailingTrial_IsRecordedAndTheExperimentGoesOn()
    {
        var monitor = new Monitor();
        var result = await Experiment(3).SetTrialRunner(new FailsSecond()).SetMonitor(monitor).RunAsync();
        Assert.HasCount(3, result.Trials);
        Assert.AreEqual(QatTrialStatus.Failed, result.Trials[1].Status);
        StringAssert.Contains(result.Trials[1].Error!, "disk on fire");
        Assert.HasCount(1, monitor.Failed);
        Assert.AreEqual(QatTrialStatus.Completed, result.Trials[2].Status);
    }

    [TestMethod]
    [DataRow(1_200, 1, DisplayName = "1,200 rows: folds of 800 training rows, a refit above the ensemble's limit")]
    [DataRow(600, 5, DisplayName = "600 rows: an ensemble in the folds and in the refit")]
    public async Task FoldedTrials_TrainAsManyNetworksAsARefitOnAllTheRows(int rows, int members)
    {
        // Steps, not epochs: the trainer then chooses the ensemble size from the row count.
        var space = new QatSearchSpace
        {
            Budget = QatSearchBudget.OptimizerSteps, FloatOptimizerSteps = (20, 20), QatOptimizerSteps = (10, 10),
            Backends = [QuantBackend.Fbgemm], Observers = [QatObserverKind.MinMax], HiddenSizes = [[8]], BatchSizes = [32],
        };
        var data = SyntheticData.KeyedBlobs(_ml, rows, seed: 3);
        var result = await _ml.CreateQatExperiment().SetDataset(data, folds: 3).SetMulticlassMetric().SetSearchSpace(space)
            .SetTuner(QatTuners.Grid()).SetSeed(2).SetMaxModelToExplore(1).RunAsync();
        var trial = result.Trials.Single();
        Assert.AreEqual(QatTrialStatus.Completed, trial.Status, trial.Error);
        var refit = _ml.MulticlassClassification.Trainers.Qat(trial.Settings.ApplyTo(new Trainers.QatMulticlassTrainer.Options { Seed = 2 })).Fit(data);
        Assert.AreEqual(members, refit.TrainingReport!.EnsembleSize, "the rule the trial must follow");
        Assert.AreEqual(refit.Model.ParameterBytes, trial.ModelBytes, "the trial measured the model its settings give when refit on all the rows");
    }

    [TestMethod]
    public void SuccessiveHalving_TrainsManyShortThenTheBestLonger()
    {
        var space = Small();
        space.FloatEpochs = (9, 9);
        space.QatEpochs = (9, 9);
        var tuner = QatTuners.SuccessiveHalving(seed: 1, configurations: 9, eta: 3);
        var history = new List<QatTrialResult>();
        for (int i = 0; i < 13; i++)
        {
            var p = tuner.Propose(space, history)!;
            // Pretend the metric is the learning rate: the tuner must promote the highest ones.
            history.Add(new QatTrialResult { Id = i, Settings = p.Settings, Rung = p.Rung, Status = QatTrialStatus.Completed, Metric = p.Settings.LearningRate });
        }
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2 }, history.Select(h => h.Rung).ToArray());
        Assert.IsTrue(history.Take(9).All(h => h.Settings.FloatEpochs == 1));
        Assert.IsTrue(history.Skip(9).Take(3).All(h => h.Settings.FloatEpochs == 3));
        Assert.AreEqual(9, history[12].Settings.FloatEpochs);
        Assert.AreEqual(history.Take(9).Max(h => h.Settings.LearningRate), history[12].Settings.LearningRate);
    }

    [TestMethod]
    public void SearchSpace_BadRange_IsRefusedNamingIt()
    {
        var space = new QatSearchSpace { LearningRate = (0.1, 0.01) };
        var e = Assert.Throws<ArgumentException>(() => _ml.CreateQatExperiment().SetSearchSpace(space));
        StringAssert.Contains(e.Message, "LearningRate");
    }

    private sealed class Monitor : IQatExperimentMonitor
    {
        public Action<int>? OnRunning { get; init; }

        public List<int> Running { get; } = [];

        public List<QatTrialResult> Completed { get; } = [];

        public List<QatTrialResult> Failed { get; } = [];

        public void ReportRunningTrial(int id, QatTrialProposal proposal)
        {
            Running.Add(id);
            OnRunning?.Invoke(id);
        }

        public void ReportCompletedTrial(QatTrialResult result) => Completed.Add(result);

        public void ReportBestTrial(QatTrialResult result)
        {
        }

        public void ReportFailTrial(QatTrialResult result, Exception exception) => Failed.Add(result);
    }

    /// <summary>A runner whose second trial throws (a lost worker, a full disk); the others are measured as usual.</summary>
    private sealed class FailsSecond : IQatTrialRunner
    {
        public Task<QatTrialResult> RunAsync(int id, QatTrialProposal proposal, int seed, CancellationToken cancellationToken) => id == 1
            ? throw new IOException("disk on fire")
            : Task.FromResult(new QatTrialResult { Id = id, Settings = proposal.Settings, Status = QatTrialStatus.Completed, Metric = 0.5 + id, ModelBytes = 100, LatencyMicroseconds = 1 });
    }
}
