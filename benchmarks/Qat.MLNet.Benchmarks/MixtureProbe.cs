using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>mixture</c> command, a probe: would an ensemble whose members see the features in two ways (as they are, and as
/// their piecewise-linear encoding) beat one whose members all see them one way? On the tabular benchmark's sets and
/// splits it fits Qat's defaults (A), the defaults with <c>PiecewiseLinearBins = K</c> (B) and the defaults with seed 11
/// (C), and scores the averages of their test outputs: A + C is twice the members on plain features (the control), A + B
/// the mixture. "holdout pick" is A or B, whichever has the lower mean over its members of their best QAT-phase validation
/// loss (member m of A and of B hold out the same rows: both use seed + m), as a Fit that trained both could choose.
/// Usage: <c>dotnet run -c Release -- mixture [--splits N] [--only NAME] [--bins K] [--no-r]</c>.
/// </summary>
internal static class MixtureProbe
{
    public static void Run(string[] args)
    {
        int splits = Option(args, "--splits", 5), bins = Option(args, "--bins", 16);
        var sets = TabularBenchmark.DataSets(args);
        Console.WriteLine($"// {Environment.ProcessorCount} cores, {splits} splits, PLE {bins}: mean test metric (accuracy / AUC, macro accuracy, R²)");
        Console.WriteLine("| data set | defaults (A) | PLE (B) | A + seed 11 | A + B | holdout pick | B picked |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var set in sets)
        {
            var sums = new double[5, 2];
            int picked = 0;
            for (int seed = 0; seed < splits; seed++)
            {
                var ml = new MLContext(seed: seed);
                var split = ml.Data.TrainTestSplit(set.Load(ml), testFraction: 0.25, samplingKeyColumnName: set.SplitKey, seed: seed);
                var a = Outputs(ml, set.Task, split, _ => { });
                var b = Outputs(ml, set.Task, split, o => o.PiecewiseLinearBins = bins);
                var c = Outputs(ml, set.Task, split, o => o.Seed = 11);
                bool pickB = b.HoldoutLoss < a.HoldoutLoss;
                picked += pickB ? 1 : 0;
                var rows = new[] { a.Scores, b.Scores, Average(a.Scores, c.Scores), Average(a.Scores, b.Scores), pickB ? b.Scores : a.Scores };
                var perSplit = new List<string>();
                for (int r = 0; r < 5; r++)
                {
                    var (m1, m2) = Metric(set.Task, rows[r], a.Labels);
                    sums[r, 0] += m1;
                    sums[r, 1] += m2;
                    perSplit.Add(F(m1) + (set.Task == TabularTask.Binary ? "/" + F(m2) : ""));
                }
                // Per split, for choosing a pick rule afterwards: metrics of A, B, A + C, A + B, the pick, and both holdout losses.
                Console.Error.WriteLine(FormattableString.Invariant($"split\t{set.Name}\t{seed}\t{string.Join('\t', perSplit)}\t{a.HoldoutLoss:F5}\t{b.HoldoutLoss:F5}"));
            }
            string Cell(int r) => F(sums[r, 0] / splits) + (set.Task == TabularTask.Binary ? " / " + F(sums[r, 1] / splits) : "");
            Console.WriteLine($"| {set.Name} | {Cell(0)} | {Cell(1)} | {Cell(2)} | {Cell(3)} | {Cell(4)} | {picked} of {splits} |");
        }
    }

    /// <summary>The test rows' outputs (class scores, probability, or score) and labels (class index, 0/1, or value).</summary>
    private static (float[][] Scores, double[] Labels, double HoldoutLoss) Outputs(MLContext ml, TabularTask task, DataOperationsCatalog.TrainTestData split, Action<QatTrainerOptions> configure)
    {
        var trainer = TabularBenchmark.Qat(task, configure)(ml);
        IEstimator<ITransformer> pipeline = task == TabularTask.Multiclass ? ml.Transforms.Conversion.MapValueToKey("Label").Append(trainer) : trainer;
        var model = pipeline.Fit(split.TrainSet);
        var qat = model as QatTransformerBase ?? ((IEnumerable<ITransformer>)model).OfType<QatTransformerBase>().Last();
        var report = qat.TrainingReport ?? throw new InvalidOperationException("The Qat model has no training report.");
        // Each member's best validation loss in its QAT phase, averaged over the members (a single network: one member).
        double holdoutLoss = report.Epochs.Where(e => e.Phase == Reports.QatTrainingPhase.QuantizationAware && e.Validation is not null)
            .GroupBy(e => e.Member ?? 1).Select(g => g.Min(e => e.Validation!.Loss)).DefaultIfEmpty(double.NaN).Average();
        var scored = model.Transform(split.TestSet);
        return task switch
        {
            TabularTask.Multiclass => (scored.GetColumn<float[]>("Score").ToArray(), scored.GetColumn<uint>("Label").Select(l => (double)(l - 1)).ToArray(), holdoutLoss),
            TabularTask.Binary => (scored.GetColumn<float>("Probability").Select(p => new[] { p }).ToArray(), scored.GetColumn<bool>("Label").Select(l => l ? 1.0 : 0.0).ToArray(), holdoutLoss),
            _ => (scored.GetColumn<float>("Score").Select(s => new[] { s }).ToArray(), scored.GetColumn<float>("Label").Select(l => (double)l).ToArray(), holdoutLoss),
        };
    }

    private static float[][] Average(float[][] x, float[][] y) => x.Select((row, i) => row.Select((v, j) => (v + y[i][j]) / 2).ToArray()).ToArray();

    /// <summary>Macro accuracy; accuracy and AUC; or R².</summary>
    private static (double, double) Metric(TabularTask task, float[][] scores, double[] labels)
    {
        switch (task)
        {
            case TabularTask.Multiclass:
            {
                var classes = labels.Distinct().ToList();
                double recall = classes.Average(c =>
                {
                    var rows = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToList();
                    return rows.Count(i => ArgMax(scores[i]) == (int)c) / (double)rows.Count;
                });
                return (recall, 0);
            }
            case TabularTask.Binary:
            {
                double accuracy = labels.Select((l, i) => (scores[i][0] > 0.5) == (l == 1) ? 1.0 : 0).Average();
                var positives = Enumerable.Range(0, labels.Length).Where(i => labels[i] == 1).Select(i => scores[i][0]).ToList();
                var negatives = Enumerable.Range(0, labels.Length).Where(i => labels[i] == 0).Select(i => scores[i][0]).ToList();
                double pairs = positives.Sum(p => negatives.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0));
                return (accuracy, pairs / ((double)positives.Count * negatives.Count));
            }
            default:
            {
                double mean = labels.Average();
                double residual = labels.Select((l, i) => (l - scores[i][0]) * (l - scores[i][0])).Sum();
                double total = labels.Select(l => (l - mean) * (l - mean)).Sum();
                return (1 - residual / total, 0);
            }
        }
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best])
                best = i;
        return best;
    }

    private static string F(double v) => TabularBenchmark.F(v);

    private static int Option(string[] args, string name, int fallback) => TabularBenchmark.Option(args, name, fallback);
}
