using Microsoft.ML;
using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Experiments;

namespace Qat.MLNet.Examples;

/// <summary>
/// A QAT experiment, as ML.NET AutoML users run one: on the wine data set (multiclass, shipped) with successive halving
/// for 30 s, then on the shipped Fashion-MNIST slice for 60 s under int8 constraints (model bytes, batch-1 latency on
/// this machine, accuracy lost to int8). Prints each table, the Pareto front and the best settings as trainer options.
/// </summary>
internal static class ExperimentExample
{
    public static void Run()
    {
        var ml = new MLContext(seed: 0);
        ml.Log += (_, e) =>
        {
            if (e.Source == "QatExperiment" || e.RawMessage.StartsWith("trial ", StringComparison.Ordinal))
                Console.WriteLine($"  [{e.Source}] {e.RawMessage}");
        };

        var wine = TabularDataSet.Shipped.Single(s => s.Name == "wine");
        var data = wine.Load(ml, TabularDataSet.Find(wine.RelativePath));
        data = ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data));
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 0);
        Console.WriteLine("Wine (178 rows x 13 features): successive halving, 30 s.");
        var result = ml.CreateQatExperiment()
            .SetDataset(split.TrainSet, split.TestSet)
            .SetMulticlassMetric()
            .SetTuner(QatTuners.SuccessiveHalving(seed: 0))
            .SetTrainingTimeInSeconds(30)
            .RunAsync().GetAwaiter().GetResult();
        Print(result);

        string shipped = FashionMnist.ShippedDirectory();
        var images = ml.Data.LoadFromEnumerable(FashionMnistExample.Images(shipped, trainSet: false, 0, 3000));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(images);
        var train = ml.Data.Cache(keys.Transform(images));
        var validation = ml.Data.Cache(keys.Transform(ml.Data.LoadFromEnumerable(FashionMnistExample.Images(shipped, trainSet: false, 8000, 1000))));
        Console.WriteLine("Fashion-MNIST slice (3,000 training, 1,000 validation images): random search, 60 s, int8 model at most 120 KB, batch-1 latency at most 8 us, at most 1 point lost to int8.");
        var fashion = ml.CreateQatExperiment()
            .SetDataset(train, validation)
            .SetMulticlassMetric()
            .SetSearchSpace(new QatSearchSpace { FloatEpochs = (2, 8), QatEpochs = (1, 3), HiddenSizes = [[64], [128], [256, 128]], BatchSizes = [64, 128] })
            .SetConstraints(new QatExperimentConstraints { MaximumModelBytes = 120_000, MaximumLatencyMicroseconds = 8, MaximumMetricDrop = 0.01 })
            .SetTrainingTimeInSeconds(60)
            .RunAsync().GetAwaiter().GetResult();
        Print(fashion);
    }

    private static void Print(QatExperimentResult result)
    {
        Console.WriteLine(result.ToMarkdown());
        Console.WriteLine(result.BestTrial is { } best
            ? $"Best: trial {best.Id}, {result.MetricName} {best.Metric:F4}, {best.ModelBytes} bytes, {best.LatencyMicroseconds:F1} us. As trainer options:\n  {best.Settings}"
            : "No trial met every constraint.");
        Console.WriteLine();
    }
}
