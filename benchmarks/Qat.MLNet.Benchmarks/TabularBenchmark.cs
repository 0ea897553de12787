using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>tabular</c> command: Qat's simple catalog overloads (no options) against ML.NET's stock trainers at their defaults,
/// on the small public data sets of examples/data (and, where Debian's python3-statsmodels is installed, its <c>fair</c>
/// data set, which the defaults were not tuned on), on the same seeded splits, in one run. Prints one row per data set
/// and trainer: the test metric (mean and spread over the splits) and the fit time.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release -- tabular [--splits N] [--only NAME] [--refit]</c> (<c>--refit</c> adds two probe rows:
/// the defaults with a fixed seed, and the same retrained on every row for the epochs early stopping kept, see
/// <see cref="RefitOnAllRows{TOptions}"/>). Each split is
/// <c>TrainTestSplit(testFraction 0.25, seed s)</c>, s = 0..N-1. Linear trainers get <c>NormalizeMinMax</c> first, as ML.NET's
/// docs put it; FastTree reads the raw features; Qat runs both ways ("raw" and after "NormalizeMinMax").
/// </remarks>
internal static class TabularBenchmark
{
    private const string StatsmodelsFair = "/usr/lib/python3/dist-packages/statsmodels/datasets/fair/fair.csv";

    private static bool _printReports;

    private static bool _refit;

    /// <summary>A trainer in the table; <paramref name="Probe"/> rows (same-seed baseline and refit) run only with <c>--refit</c>.</summary>
    private sealed record Candidate(string Name, bool Normalize, Func<MLContext, IEstimator<ITransformer>> Trainer, bool Probe = false);

    public static void Run(string[] args)
    {
        int splits = Option(args, "--splits", 5);
        _printReports = args.Contains("--reports");
        _refit = args.Contains("--refit");
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var sets = TabularDataSet.Shipped.ToList();
        if (File.Exists(StatsmodelsFair))
            sets.Add(new TabularDataSet("fair (statsmodels)", StatsmodelsFair, TabularTask.Regression));
        else
            Console.WriteLine($"// {StatsmodelsFair} not found: `apt-get install -y python3-statsmodels` adds the 'fair' data set (6,366 rows, regression).");
        Console.WriteLine($"// {Environment.ProcessorCount} cores, {splits} splits per data set (test fraction 0.25), seeds 0..{splits - 1}");
        Console.WriteLine("| data set | rows x features | trainer | metric | mean | min..max | fit s | int8 vs float |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var set in sets.Where(s => only is null || s.Name.StartsWith(only, StringComparison.Ordinal)))
            RunDataSet(set, splits);
    }

    private static void RunDataSet(TabularDataSet set, int splits)
    {
        var probe = new MLContext(seed: 0);
        string path = Path.IsPathRooted(set.RelativePath) ? set.RelativePath : TabularDataSet.Find(set.RelativePath);
        var all = set.Load(probe, path);
        long rows = all.GetRowCount() ?? all.GetColumn<float[]>("Features").LongCount();
        int features = ((VectorDataViewType)all.Schema["Features"].Type).Size;
        foreach (var candidate in Candidates(set.Task).Where(c => _refit || !c.Probe))
        {
            var values = new List<double>();
            var aucs = new List<double>();
            var drops = new List<double>();
            double seconds = 0;
            string metric = "";
            for (int seed = 0; seed < splits; seed++)
            {
                var ml = new MLContext(seed: seed);
                var data = set.Load(ml, path);
                var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: seed);
                IEstimator<ITransformer> pipeline = set.Task == TabularTask.Multiclass
                    ? ml.Transforms.Conversion.MapValueToKey("Label")
                    : new EstimatorChain<ITransformer>();
                if (candidate.Normalize)
                    pipeline = pipeline.Append(ml.Transforms.NormalizeMinMax("Features"));
                pipeline = pipeline.AppendCacheCheckpoint(ml).Append(candidate.Trainer(ml));
                var clock = Stopwatch.StartNew();
                var model = pipeline.Fit(split.TrainSet);
                seconds += clock.Elapsed.TotalSeconds;
                var scored = model.Transform(split.TestSet);
                switch (set.Task)
                {
                    case TabularTask.Multiclass:
                        metric = "macro accuracy";
                        values.Add(ml.MulticlassClassification.Evaluate(scored).MacroAccuracy);
                        break;
                    case TabularTask.Binary:
                        metric = "accuracy / AUC";
                        var b = ml.BinaryClassification.Evaluate(scored);
                        values.Add(b.Accuracy);
                        aucs.Add(b.AreaUnderRocCurve);
                        break;
                    default:
                        metric = "R²";
                        values.Add(ml.Regression.Evaluate(scored).RSquared);
                        break;
                }
                if (model is TransformerChain<ITransformer> chain && chain.LastTransformer is QatTransformerBase qat && qat.TrainingReport is { } report)
                {
                    // Classification: int8 accuracy - float accuracy; regression: relative change of the squared error.
                    drops.Add(report.Int8.Accuracy is { } int8 && report.Float.Accuracy is { } fp ? int8 - fp : (report.Int8.Loss - report.Float.Loss) / report.Float.Loss);
                    if (_printReports && seed == 0)
                        Console.WriteLine(report);
                }
            }
            string mean = F(values.Average()) + (aucs.Count > 0 ? " / " + F(aucs.Average()) : "");
            string range = F(values.Min()) + ".." + F(values.Max());
            string drop = drops.Count == 0 ? "" : F(drops.Average());
            Console.WriteLine($"| {set.Name} | {rows} x {features} | {candidate.Name} | {metric} | {mean} | {range} | {(seconds / splits).ToString("F2", CultureInfo.InvariantCulture)} | {drop} |");
        }
    }

    private static IEnumerable<Candidate> Candidates(TabularTask task) => task switch
    {
        TabularTask.Multiclass =>
        [
            new("Qat (raw)", false, ml => ml.MulticlassClassification.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Seed = 11 }), Probe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatMulticlassTrainer.Options>(o => ml.MulticlassClassification.Trainers.Qat(o)), Probe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.MulticlassClassification.Trainers.Qat()),
            new("LbfgsMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()),
            new("SdcaMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
            new("FastTree one-vs-all", false, ml => ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree())),
        ],
        TabularTask.Binary =>
        [
            new("Qat (raw)", false, ml => ml.BinaryClassification.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Seed = 11 }), Probe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatBinaryTrainer.Options>(o => ml.BinaryClassification.Trainers.Qat(o)), Probe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.BinaryClassification.Trainers.Qat()),
            new("LbfgsLogisticRegression", true, ml => ml.BinaryClassification.Trainers.LbfgsLogisticRegression()),
            new("SdcaLogisticRegression", true, ml => ml.BinaryClassification.Trainers.SdcaLogisticRegression()),
            new("FastTree", false, ml => ml.BinaryClassification.Trainers.FastTree()),
        ],
        _ =>
        [
            new("Qat (raw)", false, ml => ml.Regression.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { Seed = 11 }), Probe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatRegressionTrainer.Options>(o => ml.Regression.Trainers.Qat(o)), Probe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.Regression.Trainers.Qat()),
            new("Sdca", true, ml => ml.Regression.Trainers.Sdca()),
            new("LbfgsPoissonRegression", true, ml => ml.Regression.Trainers.LbfgsPoissonRegression()),
            new("FastTree", false, ml => ml.Regression.Trainers.FastTree()),
        ],
    };

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
