using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;
using Qat.MLNet.Inference;
using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>int8-accuracy</c> command (issue 16): what learnable scales (LSQ) and mixed precision buy, side by side in one
/// run on the same data and seed: the trainer as the main example configures it, the same with <c>LearnableScales</c>,
/// with <c>MaximumInt8MetricDrop</c> (the analysis' suggestion) and with the last layer kept float. Fashion-MNIST (the
/// full set when dataset-fashion-mnist is installed, else the shipped 8,000/2,000 slice), CNN and MLP; then the tabular
/// data sets with the defaults against <c>LearnableScales</c>. Prints float / fake-quant / int8 accuracy, the int8
/// model's size and batch-1 latency, the layers kept float, and the per-layer table of the first run.
/// Usage: <c>dotnet run -c Release -- int8-accuracy [--seeds N] [--only fashion|tabular] [--epochs F,Q] [--slice] [--variants P,P]</c>
/// (<c>--slice</c>: the shipped slice even when the full set is installed; <c>--variants as,Learnable</c>: only the variants whose
/// names start so).
/// </summary>
internal static class Int8AccuracyBenchmark
{
    private sealed class Image
    {
        [VectorType(FashionMnist.Pixels)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    public static void Run(string[] args)
    {
        int seeds = int.Parse(args.SkipWhile(a => a != "--seeds").Skip(1).FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var epochs = (args.SkipWhile(a => a != "--epochs").Skip(1).FirstOrDefault() ?? "3,3").Split(',').Select(e => int.Parse(e, CultureInfo.InvariantCulture)).ToArray();
        Console.WriteLine($"// CPU {OnnxRuntimeComparison.CpuModel()}, {Environment.ProcessorCount} cores, {seeds} seed(s)");
        if (only is null or "fashion")
            Fashion(seeds, epochs[0], epochs[1], args.Contains("--slice"), args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault()?.Split(','));
        if (only is null or "tabular")
            Tabular(seeds);
    }

    private static void Fashion(int seeds, int floatEpochs, int qatEpochs, bool slice, string[]? variants)
    {
        bool full = !slice && FashionMnist.FullSetInstalled();
        string directory = full ? FashionMnist.DefaultDirectory : FashionMnist.ShippedDirectory();
        var train = Images(directory, trainSet: full, 0, full ? int.MaxValue : 8000);
        var test = Images(directory, trainSet: false, full ? 0 : 8000, full ? int.MaxValue : 2000);
        Console.WriteLine($"// Fashion-MNIST {(full ? "full set" : "shipped slice")}: {train.Count} training, {test.Count} test images; {floatEpochs} float + {qatEpochs} QAT epochs, fbgemm");
        Console.WriteLine("| network | variant | seed | float | fake-quant | int8 | int8 - float | kept float | int8 bytes | int8 us/row | fit s |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
        foreach (var (name, network) in new[] { ("CNN", QatNetwork.Cnn(new ActivationShape(1, 28, 28))), ("MLP", QatNetwork.Mlp(128, 64)) })
        {
            bool printed = false;
            foreach (var (variant, configure) in Variants(network).Where(v => variants is null || variants.Any(p => v.Name.StartsWith(p, StringComparison.OrdinalIgnoreCase))))
            {
                for (int seed = 0; seed < seeds; seed++)
                {
                    var ml = new MLContext(seed: seed);
                    var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
                    var options = new QatMulticlassTrainer.Options
                    {
                        Network = network, Seed = seed, NumberOfFloatEpochs = floatEpochs, NumberOfEpochs = qatEpochs,
                        FreezeObserversAfterEpoch = qatEpochs - 1, FreezeBatchNormAfterEpoch = qatEpochs - 1, LearningRate = 0.002,
                        LearningRateSchedule = QatLearningRateSchedule.Cosine, WeightDecay = 0, NumberOfThreads = Environment.ProcessorCount,
                        ValidationSet = keys.Transform(ml.Data.LoadFromEnumerable(test)),
                    };
                    configure(options);
                    var clock = Stopwatch.StartNew();
                    var transformer = ml.MulticlassClassification.Trainers.Qat(options).Fit(keys.Transform(ml.Data.LoadFromEnumerable(train)));
                    double seconds = clock.Elapsed.TotalSeconds;
                    var r = transformer.TrainingReport!;
                    Console.WriteLine(FormattableString.Invariant(
                        $"| {name} | {variant} | {seed} | {r.Float.Accuracy:P2} | {r.FakeQuantized.Accuracy:P2} | {r.Int8.Accuracy:P2} | {(r.Int8.Accuracy - r.Float.Accuracy) * 100:+0.00;-0.00;0.00} | {(r.FloatLayers.Count == 0 ? "-" : string.Join(" ", r.FloatLayers))} | {r.Int8ModelBytes:N0} | {r.Int8MicrosecondsPerRow:F1} | {seconds:F1} |"));
                    if (!printed && r.Layers.Count > 0)
                    {
                        Console.WriteLine($"// per-layer analysis of {name} {variant}, seed {seed}:");
                        foreach (var line in r.ToString().Split('\n').Where(l => l.StartsWith("layer ", StringComparison.Ordinal)))
                            Console.WriteLine("//   " + line.TrimEnd());
                        printed = true;
                    }
                }
            }
        }
    }

    private static IEnumerable<(string Name, Action<QatTrainerOptions> Configure)> Variants(QatNetwork network) =>
    [
        ("as the example", _ => { }),
        ("LearnableScales", o => o.LearnableScales = true),
        ("MaximumInt8MetricDrop 0.001", o => o.MaximumInt8MetricDrop = 0.001),
        ("KeepFloatLayers last", o => o.KeepFloatLayers = [network.Description.StartsWith("CNN", StringComparison.Ordinal) ? "fc2" : "fc3"]),
    ];

    private static void Tabular(int seeds)
    {
        Console.WriteLine("| data set | trainer | metric | mean over splits | int8 - float (regression: float's squared error minus int8's, relative) |");
        Console.WriteLine("| --- | --- | --- | ---: | ---: |");
        foreach (var set in TabularDataSet.Shipped)
        {
            foreach (bool lsq in new[] { false, true })
            {
                var values = new List<double>();
                var drops = new List<double>();
                string metric = "";
                for (int seed = 0; seed < Math.Max(seeds, 3); seed++)
                {
                    var ml = new MLContext(seed: seed);
                    var data = set.Load(ml, TabularDataSet.Find(set.RelativePath));
                    var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: seed);
                    IEstimator<ITransformer> pipeline = set.Task == TabularTask.Multiclass ? ml.Transforms.Conversion.MapValueToKey("Label") : new EstimatorChain<ITransformer>();
                    pipeline = pipeline.AppendCacheCheckpoint(ml).Append(Trainer(ml, set.Task, lsq));
                    var model = (TransformerChain<ITransformer>)pipeline.Fit(split.TrainSet);
                    var scored = model.Transform(split.TestSet);
                    (metric, double value) = set.Task switch
                    {
                        TabularTask.Multiclass => ("macro accuracy", ml.MulticlassClassification.Evaluate(scored).MacroAccuracy),
                        TabularTask.Binary => ("accuracy", ml.BinaryClassification.Evaluate(scored).Accuracy),
                        _ => ("R²", ml.Regression.Evaluate(scored).RSquared),
                    };
                    values.Add(value);
                    var report = ((Scoring.QatTransformerBase)model.LastTransformer).TrainingReport!;
                    drops.Add(report.Int8.Accuracy is { } q && report.Float.Accuracy is { } f ? q - f : (report.Float.Loss - report.Int8.Loss) / report.Float.Loss);
                }
                Console.WriteLine(FormattableString.Invariant($"| {set.Name} | Qat defaults{(lsq ? " + LearnableScales" : "")} | {metric} | {values.Average():F3} | {drops.Average():+0.000;-0.000;0.000} |"));
            }
        }
    }

    private static IEstimator<ITransformer> Trainer(MLContext ml, TabularTask task, bool lsq) => task switch
    {
        TabularTask.Multiclass => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { LearnableScales = lsq }),
        TabularTask.Binary => ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { LearnableScales = lsq }),
        _ => ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options { LearnableScales = lsq }),
    };

    private static List<Image> Images(string directory, bool trainSet, int skip, int take)
    {
        var (pixels, labels) = FashionMnist.LoadRaw(directory, trainSet);
        int end = (int)Math.Min(labels.Length, (long)skip + take);
        var images = new List<Image>(end - skip);
        for (int i = skip; i < end; i++)
            images.Add(new Image { Features = FashionMnist.Features(pixels, i), Label = FashionMnist.ClassNames[labels[i]] });
        return images;
    }
}
