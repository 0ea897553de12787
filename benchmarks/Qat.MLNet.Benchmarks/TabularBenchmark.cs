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
/// on the small public data sets of examples/data (and, where Debian's python3-statsmodels is installed, three of its data
/// sets, which the defaults were not tuned on: <see cref="Unseen"/>; where R and its MASS package are, eleven of R's data
/// sets, also unseen: <see cref="RDataSets"/>, <c>--no-r</c> leaves them out), on the same seeded splits, in one run.
/// Prints one row per data set and trainer: the test metric (mean and spread over the splits) and the fit time.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release -- tabular [--splits N] [--only NAME] [--no-r] [--refit] [--with "Name=Value;..."]... [--ple K]
/// [--ple-raw K] [--ungrouped] [--grouped-holdout] [--rows N]</c> (<c>--rows N</c>: a fixed random N rows of each set,
/// for small-data checks on the larger sets). Probe rows: <c>--refit</c> adds the defaults with a fixed seed and the same retrained on every row for
/// the epochs early stopping kept (<see cref="RefitOnAllRows{TOptions}"/>); each <c>--with "WeightDecay=0.01;BatchSize=16"</c>
/// adds a Qat row with those options (<see cref="OptionAssignments"/>); <c>--ple K</c> adds a Qat row on the features'
/// piecewise-linear encoding over K quantile bins (<see cref="PiecewiseLinearEncoding"/>, also applied to each --with row;
/// <c>--ple-raw K</c>: each feature's value followed by its K encodings);
/// <c>--grouped-holdout</c> adds, on sets with repeated people, the defaults early-stopped on people held out
/// (<see cref="GroupedHoldout"/>).
/// Each split is <c>TrainTestSplit(testFraction 0.25, seed s)</c>, s = 0..N-1; data sets with repeated people (randhie:
/// one person's years share a feature vector; modechoice: an individual's four alternatives) keep a person's rows on one
/// side (<see cref="TabularDataSet.SplitKey"/>), so no trainer is scored on people it trained on; <c>--ungrouped</c> splits
/// rows independently instead. Linear trainers get <c>NormalizeMinMax</c> first, as ML.NET's docs put it; FastTree reads
/// the raw features; Qat runs both ways ("raw" and after "NormalizeMinMax").
/// </remarks>
internal static class TabularBenchmark
{
    private const string Statsmodels = "/usr/lib/python3/dist-packages/statsmodels/datasets/";

    /// <summary>
    /// Data sets the defaults were not tuned on, read where Debian's python3-statsmodels installs them (not shipped: fair is
    /// "included with permission of the author"; randhie and modechoice are public domain): fair (6,366 rows, regression of
    /// affairs), randhie (20,190 rows, regression of doctor visits, RAND Health Insurance Experiment; 2,760 distinct people)
    /// and modechoice (840 rows of 210 travellers, binary: was this travel mode chosen, 25 % positive; the mode one-hot, the
    /// traveller's id only keeps their rows together).
    /// </summary>
    internal static IReadOnlyList<TabularDataSet> Unseen { get; } =
    [
        new("fair (statsmodels)", Statsmodels + "fair/fair.csv", TabularTask.Regression),
        new("randhie (statsmodels)", Statsmodels + "randhie/randhie.csv", TabularTask.Regression) { LabelColumn = 0, GroupColumn = -1 },
        new("modechoice (statsmodels)", Statsmodels + "modechoice/modechoice.csv", TabularTask.Binary, "1") { LabelColumn = 2, GroupColumn = 0, CategoricalColumns = [1], Separator = ';' },
    ];

    private static bool _printReports;

    private static bool _refit;

    private static List<string> _variants = [];

    private static int _ple;

    private static bool _pleRaw;

    private static bool _ungrouped;

    private static bool _groupedHoldout;

    private static int _rows;

    /// <summary>
    /// A trainer in the table; <paramref name="RefitProbe"/> rows (same-seed baseline and refit) run only with <c>--refit</c>;
    /// <paramref name="Encoded"/> rows train on the <c>--ple</c> encoding of the features.
    /// </summary>
    private sealed record Candidate(string Name, bool Normalize, Func<MLContext, IEstimator<ITransformer>> Trainer, bool RefitProbe = false, bool Encoded = false);

    public static void Run(string[] args)
    {
        int splits = Option(args, "--splits", 5);
        _printReports = args.Contains("--reports");
        _refit = args.Contains("--refit");
        _pleRaw = args.Contains("--ple-raw");
        _ple = Option(args, _pleRaw ? "--ple-raw" : "--ple", 0);
        _ungrouped = args.Contains("--ungrouped");
        _groupedHoldout = args.Contains("--grouped-holdout");
        _rows = Option(args, "--rows", 0);
        _variants = args.Select((a, i) => (a, i)).Where(p => p.a == "--with" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();
        var sets = DataSets(args);
        Console.WriteLine($"// {Environment.ProcessorCount} cores, {splits} splits per data set (test fraction 0.25), seeds 0..{splits - 1}");
        Console.WriteLine("| data set | rows x features | trainer | metric | mean | min..max | fit s | int8 vs float |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var set in sets)
            RunDataSet(set, splits);
    }

    /// <summary>
    /// The sets a run covers: the shipped ones, the statsmodels ones that are installed (saying which are not), R's unless
    /// <c>--no-r</c>; only those whose name starts with <c>--only NAME</c> when given.
    /// </summary>
    internal static List<TabularDataSet> DataSets(string[] args)
    {
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var sets = TabularDataSet.Shipped.ToList();
        foreach (var unseen in Unseen)
        {
            if (File.Exists(unseen.RelativePath))
                sets.Add(unseen);
            else
                Console.WriteLine($"// {unseen.RelativePath} not found: `apt-get install -y python3-statsmodels` adds the '{unseen.Name}' data set.");
        }
        if (!args.Contains("--no-r"))
            sets.AddRange(RDataSets.Available());
        return sets.Where(s => only is null || s.Name.StartsWith(only, StringComparison.Ordinal)).ToList();
    }

    private static void RunDataSet(TabularDataSet set, int splits)
    {
        var probe = new MLContext(seed: 0);
        string path = set.FullPath;
        var all = set.Load(probe, path);
        long rows = all.GetRowCount() ?? all.GetColumn<float[]>("Features").LongCount();
        int features = ((VectorDataViewType)all.Schema["Features"].Type).Size;
        foreach (var candidate in Candidates(set.Task).Where(c => _refit || !c.RefitProbe).Concat(Variants(set.Task)).Concat(GroupedHoldoutRow(set)))
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
                if (_rows > 0)
                    data = ml.Data.TakeRows(ml.Data.ShuffleRows(data, seed: 12345, shufflePoolSize: 1_000_000), _rows); // the same rows every split
                var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, samplingKeyColumnName: _ungrouped ? null : set.SplitKey, seed: seed);
                IEstimator<ITransformer> pipeline = set.Task == TabularTask.Multiclass
                    ? ml.Transforms.Conversion.MapValueToKey("Label")
                    : new EstimatorChain<ITransformer>();
                if (candidate.Encoded)
                    pipeline = pipeline.Append(new PiecewiseLinearEncoding(ml, _ple, _pleRaw));
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
                        metric = "macro / micro accuracy";
                        var mc = ml.MulticlassClassification.Evaluate(scored);
                        values.Add(mc.MacroAccuracy);
                        aucs.Add(mc.MicroAccuracy);
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

    /// <summary>
    /// One "Qat (raw)" row per <c>--with "Name=Value;..."</c>, with those options set; with <c>--ple</c>, the defaults and each
    /// of those rows on the encoded features instead.
    /// </summary>
    private static IEnumerable<Candidate> Variants(TabularTask task) =>
        (_ple > 0 ? _variants.Prepend("") : _variants).Select(v => new Candidate($"Qat (raw), {(_ple > 0 ? "PLE " : "")}{v}", false,
            Qat(task, o => OptionAssignments.Apply(o, v)), Encoded: _ple > 0));

    /// <summary>With <c>--grouped-holdout</c>, on a set with a split key: the defaults early-stopped on people held out (<see cref="GroupedHoldout"/>).</summary>
    private static IEnumerable<Candidate> GroupedHoldoutRow(TabularDataSet set)
    {
        if (!_groupedHoldout || set.SplitKey is not { } key)
            yield break;
        yield return new Candidate("Qat (raw), holdout by person", false, ml => new GroupedHoldout(ml, key, 0, validation => Qat(set.Task, o => o.ValidationSet = validation)(ml)));
    }

    /// <summary>The task's Qat trainer on its own Options type, after <paramref name="configure"/>.</summary>
    internal static Func<MLContext, IEstimator<ITransformer>> Qat(TabularTask task, Action<QatTrainerOptions> configure) => task switch
    {
        TabularTask.Multiclass => ml => ml.MulticlassClassification.Trainers.Qat(Configured(new QatMulticlassTrainer.Options(), configure)),
        TabularTask.Binary => ml => ml.BinaryClassification.Trainers.Qat(Configured(new QatBinaryTrainer.Options(), configure)),
        _ => ml => ml.Regression.Trainers.Qat(Configured(new QatRegressionTrainer.Options(), configure)),
    };

    private static TOptions Configured<TOptions>(TOptions options, Action<QatTrainerOptions> configure) where TOptions : QatTrainerOptions
    {
        configure(options);
        return options;
    }

    private static IEnumerable<Candidate> Candidates(TabularTask task) => task switch
    {
        TabularTask.Multiclass =>
        [
            new("Qat (raw)", false, ml => ml.MulticlassClassification.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Seed = 11 }), RefitProbe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatMulticlassTrainer.Options>(o => ml.MulticlassClassification.Trainers.Qat(o)), RefitProbe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.MulticlassClassification.Trainers.Qat()),
            new("LbfgsMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()),
            new("SdcaMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
            new("FastTree one-vs-all", false, ml => ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree())),
        ],
        TabularTask.Binary =>
        [
            new("Qat (raw)", false, ml => ml.BinaryClassification.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Seed = 11 }), RefitProbe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatBinaryTrainer.Options>(o => ml.BinaryClassification.Trainers.Qat(o)), RefitProbe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.BinaryClassification.Trainers.Qat()),
            new("LbfgsLogisticRegression", true, ml => ml.BinaryClassification.Trainers.LbfgsLogisticRegression()),
            new("SdcaLogisticRegression", true, ml => ml.BinaryClassification.Trainers.SdcaLogisticRegression()),
            new("FastTree", false, ml => ml.BinaryClassification.Trainers.FastTree()),
        ],
        _ =>
        [
            new("Qat (raw)", false, ml => ml.Regression.Trainers.Qat()),
            new("Qat (raw), seed 11", false, ml => ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { Seed = 11 }), RefitProbe: true),
            new("Qat (raw), refit on all rows", false, ml => new RefitOnAllRows<QatRegressionTrainer.Options>(o => ml.Regression.Trainers.Qat(o)), RefitProbe: true),
            new("Qat (NormalizeMinMax)", true, ml => ml.Regression.Trainers.Qat()),
            new("Sdca", true, ml => ml.Regression.Trainers.Sdca()),
            new("LbfgsPoissonRegression", true, ml => ml.Regression.Trainers.LbfgsPoissonRegression()),
            new("FastTree", false, ml => ml.Regression.Trainers.FastTree()),
        ],
    };

    /// <summary>A metric as the tables print it: three decimals.</summary>
    internal static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>The integer after <paramref name="name"/> on the command line, or <paramref name="fallback"/>.</summary>
    internal static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
