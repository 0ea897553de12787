using System.Globalization;
using Microsoft.ML;
using Qat.MLNet.Examples;
using Qat.MLNet.Experiments;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>experiment</c> command: on shipped tabular data sets, the trainer's defaults against a QAT experiment of
/// <c>--seconds</c> (default 60) with the random tuner and with successive halving, same splits (test fraction 0.25; the
/// experiment tunes on 80 % of the training rows and validates on the rest, then the best settings are retrained on all
/// of them; <c>--folds K</c> measures each trial by K-fold cross-validation of the training rows instead). Prints the test
/// metric of each. Usage: <c>dotnet run -c Release -- experiment [--only NAME] [--splits N] [--seconds S] [--folds K]
/// [--tuners random,halving,cfo,grid] [--defaults-first [--margin SE]] [--budget steps] [--ple K] [--space encoding] [--unseen]</c>
/// (--ple K: the search space's PiecewiseLinearBins widened to [0, K]; --space encoding: a space narrowed to the trainer's
/// defaults with the piecewise-linear encoding's 8 or 16 bins, for the grid tuner: the defaults and two trials; --unseen: also the
/// statsmodels sets of <see cref="TabularBenchmark.Unseen"/>, people kept on one side of every split and fold; --budget steps: trials' length
/// searched in optimizer steps with early stopping, <see cref="QatSearchBudget.OptimizerSteps"/>, instead of fixed epochs; cfo: the cost-frugal search; --defaults-first: the
/// trainer's defaults as each experiment's first trial, kept as best unless a trial beats them by more than --margin standard
/// errors of its per-fold gains, default 1; 0 = the best mean). Ends with each column's mean test metric.
/// </summary>
internal static class ExperimentBenchmark
{
    private static int _folds;
    private static int _ple;

    public static void Run(string[] args)
    {
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        int splits = int.Parse(args.SkipWhile(a => a != "--splits").Skip(1).FirstOrDefault() ?? "3", CultureInfo.InvariantCulture);
        uint seconds = uint.Parse(args.SkipWhile(a => a != "--seconds").Skip(1).FirstOrDefault() ?? "60", CultureInfo.InvariantCulture);
        _folds = int.Parse(args.SkipWhile(a => a != "--folds").Skip(1).FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
        _tuners = (args.SkipWhile(a => a != "--tuners").Skip(1).FirstOrDefault() ?? "random,halving,cfo").Split(',');
        _defaultsFirst = args.Contains("--defaults-first");
        _steps = args.SkipWhile(a => a != "--budget").Skip(1).FirstOrDefault() == "steps";
        _ple = int.Parse(args.SkipWhile(a => a != "--ple").Skip(1).FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
        _encodingSpace = args.SkipWhile(a => a != "--space").Skip(1).FirstOrDefault() == "encoding";
        _margin = double.Parse(args.SkipWhile(a => a != "--margin").Skip(1).FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
        Console.WriteLine($"// CPU {OnnxRuntimeComparison.CpuModel()}, {Environment.ProcessorCount} cores; {splits} splits; {seconds} s per experiment; " +
            (_folds > 1 ? $"trials measured by {_folds}-fold cross-validation of the training rows" : "trials measured on 20 % of the training rows"));
        var names = new Dictionary<string, string> { ["random"] = "random", ["halving"] = "successive halving", ["cfo"] = "cost-frugal", ["grid"] = "grid" };
        var shown = Tuners.Where(t => _tuners.Contains(t.Key)).Select(t => $"{names[t.Key]}: trials, best validation, test").ToList();
        Console.WriteLine($"| data set | split | metric | defaults (test) | {string.Join(" | ", shown)} |");
        Console.WriteLine($"| --- | --- | --- | --- | {string.Join(" | ", shown.Select(_ => "---"))} |");
        foreach (var key in _tuners.Prepend("defaults").Concat(_tuners.Select(t => t + " (best mean)")))
            Tests[key] = [];
        var sets = args.Contains("--unseen") ? TabularDataSet.Shipped.Concat(TabularBenchmark.Unseen.Where(u => File.Exists(u.RelativePath))) : TabularDataSet.Shipped;
        foreach (var set in sets.Where(s => only is null || s.Name.StartsWith(only, StringComparison.Ordinal)))
        {
            for (int seed = 0; seed < splits; seed++)
                RunSplit(set, seed, seconds);
        }
        Console.WriteLine("Mean test metric over the rows: " + string.Join(", ", Tests.Where(t => t.Value.Count > 0).Select(t => FormattableString.Invariant($"{t.Key} {t.Value.Average():F4}"))));
    }

    /// <summary>Every row's test metric, by column (defaults and each tuner), for the closing means.</summary>
    private static readonly Dictionary<string, List<double>> Tests = [];

    private static void RunSplit(TabularDataSet set, int seed, uint seconds)
    {
        var ml = new MLContext(seed: seed);
        var all = set.Load(ml);
        if (set.Task == TabularTask.Multiclass)
            all = ml.Transforms.Conversion.MapValueToKey("Label").Fit(all).Transform(all);
        all = ml.Data.Cache(all);
        // A person's rows stay on one side of every split (data sets with repeated people, see TabularBenchmark.Unseen).
        var outer = ml.Data.TrainTestSplit(all, testFraction: 0.25, samplingKeyColumnName: set.SplitKey, seed: seed);
        var inner = ml.Data.TrainTestSplit(outer.TrainSet, testFraction: 0.2, samplingKeyColumnName: set.SplitKey, seed: seed);

        // The defaults column is the defaults trial's settings retrained as the experiments' best is, so an experiment that
        // keeps the defaults scores exactly this.
        double defaults = Test(ml, set.Task, Retrain(ml, set.Task, QatTrialSettings.TrainerDefaults, seed).Fit(outer.TrainSet), outer.TestSet);
        Tests["defaults"].Add(defaults);
        string Tuned(string name, Func<int, IQatTuner> tuner)
        {
            var experiment = ml.CreateQatExperiment().SetSeed(seed).SetTrainingTimeInSeconds(seconds).SetTuner(tuner(seed)).SetDefaultsFirst(_defaultsFirst, _margin);
            var space = _encodingSpace ? EncodingSpace() : new QatSearchSpace { Budget = _steps ? QatSearchBudget.OptimizerSteps : QatSearchBudget.Epochs };
            if (_ple > 0)
                space.PiecewiseLinearBins = [0, _ple];
            experiment = experiment.SetSearchSpace(space);
            experiment = _folds > 1 ? experiment.SetDataset(outer.TrainSet, _folds, set.SplitKey) : experiment.SetDataset(inner.TrainSet, inner.TestSet);
            experiment = set.Task switch
            {
                TabularTask.Multiclass => experiment.SetMulticlassMetric(),
                TabularTask.Binary => experiment.SetBinaryMetric(),
                _ => experiment.SetRegressionMetric(),
            };
            var result = experiment.RunAsync().GetAwaiter().GetResult();
            if (result.BestTrial is not { } best)
                return $"{result.Trials.Count}, none, -";
            double test = best.IsDefaults ? defaults : Test(ml, set.Task, Retrain(ml, set.Task, best.Settings, seed).Fit(outer.TrainSet), outer.TestSet);
            Tests[name].Add(test);
            string shown = FormattableString.Invariant($"{result.Trials.Count}, {best.Metric:F3}, {test:F3}{(best.IsDefaults ? " (defaults kept)" : "")}");
            if (!_defaultsFirst)
                return shown;
            // The same trials under the plain rule (best mean, margin 0): what the margin changed on the test rows.
            var plain = TrialSelection.Best(result.Trials, result.HigherIsBetter, margin: 0)!;
            double plainTest = plain == best ? test : plain.IsDefaults ? defaults : Test(ml, set.Task, Retrain(ml, set.Task, plain.Settings, seed).Fit(outer.TrainSet), outer.TestSet);
            Tests[name + " (best mean)"].Add(plainTest);
            return shown + FormattableString.Invariant($"; best mean: trial {plain.Id}, {plainTest:F3}");
        }
        var columns = Tuners.Where(t => _tuners.Contains(t.Key)).Select(t => Tuned(t.Key, t.Value)).ToList();
        string metric = set.Task switch { TabularTask.Multiclass => "macro accuracy", TabularTask.Binary => "accuracy", _ => "R²" };
        Console.WriteLine(FormattableString.Invariant($"| {set.Name} | {seed} | {metric} | {defaults:F3} | {string.Join(" | ", columns)} |"));
    }

    /// <summary>The tuners the command can compare, by their <c>--tuners</c> names, in column order.</summary>
    private static readonly (string Key, Func<int, IQatTuner> Value)[] Tuners =
    [
        ("random", s => QatTuners.Random(s)),
        ("halving", s => QatTuners.SuccessiveHalving(s)),
        ("cfo", s => QatTuners.CostFrugal(s)),
        ("grid", _ => QatTuners.Grid()),
    ];

    private static bool _encodingSpace;

    /// <summary>The trainer's defaults as a one-point space, but with the encoding's 8 or 16 bins.</summary>
    private static QatSearchSpace EncodingSpace()
    {
        var space = QatSearchSpace.AtTrainerDefaults();
        space.PiecewiseLinearBins = [8, 16];
        return space;
    }

    private static string[] _tuners = [];

    private static bool _defaultsFirst;

    private static double _margin;

    private static bool _steps;

    private static IEstimator<ITransformer> Retrain(MLContext ml, TabularTask task, QatTrialSettings settings, int seed) => task switch
    {
        TabularTask.Multiclass => ml.MulticlassClassification.Trainers.Qat(settings.ApplyTo(new Trainers.QatMulticlassTrainer.Options { Seed = seed })),
        TabularTask.Binary => ml.BinaryClassification.Trainers.Qat(settings.ApplyTo(new Trainers.QatBinaryTrainer.Options { Seed = seed })),
        _ => ml.Regression.Trainers.Qat(settings.ApplyTo(new Trainers.QatRegressionTrainer.Options { Seed = seed })),
    };

    private static double Test(MLContext ml, TabularTask task, ITransformer model, IDataView test)
    {
        var scored = model.Transform(test);
        return task switch
        {
            TabularTask.Multiclass => ml.MulticlassClassification.Evaluate(scored).MacroAccuracy,
            TabularTask.Binary => ml.BinaryClassification.Evaluate(scored).Accuracy,
            _ => ml.Regression.Evaluate(scored).RSquared,
        };
    }
}
