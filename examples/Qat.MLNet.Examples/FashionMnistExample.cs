using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Inference;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Examples;

/// <summary>
/// The main example: an ML.NET pipeline trains a small CNN on Fashion-MNIST with quantization-aware training and gets
/// back a transformer that runs it in int8; it prints float vs int8 accuracy, size and latency, and saves the model.
/// Uses the full data set when <c>apt-get install -y dataset-fashion-mnist</c> installed it, else the 10k test images
/// that ship in examples/data (8,000 to train, 2,000 to test).
/// </summary>
internal static class FashionMnistExample
{
    /// <summary>One image: 784 pixels in [0, 1] and the class name.</summary>
    internal sealed class Image
    {
        [VectorType(FashionMnist.Pixels)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public string Label { get; set; } = "";
    }

    private sealed class Prediction
    {
        [ColumnName("PredictedLabel")]
        public string PredictedClass { get; set; } = "";

        public float[] Score { get; set; } = Array.Empty<float>();
    }

    /// <summary>Where the training report is written, beside the model, in the current directory.</summary>
    private const string ReportFolder = "fashion-mnist-qat-report";

    /// <summary>Trains, evaluates, writes the training report, saves to <paramref name="modelPath"/>, reloads and checks.</summary>
    public static void Run(string modelPath)
    {
        var ml = new MLContext(seed: 0);
        ml.Log += (_, e) => { if (e.RawMessage.StartsWith("Qat", StringComparison.Ordinal)) Console.WriteLine("  " + e.RawMessage); };

        bool full = FashionMnist.FullSetInstalled();
        IDataView train, test;
        int floatEpochs, qatEpochs;
        if (full)
        {
            Console.WriteLine($"Fashion-MNIST from {FashionMnist.DefaultDirectory}: 60,000 training and 10,000 test images.");
            train = ml.Data.LoadFromEnumerable(Images(FashionMnist.DefaultDirectory, trainSet: true, 0, int.MaxValue));
            test = ml.Data.LoadFromEnumerable(Images(FashionMnist.DefaultDirectory, trainSet: false, 0, int.MaxValue));
            (floatEpochs, qatEpochs) = (2, 2);
        }
        else
        {
            string shipped = FashionMnist.ShippedDirectory();
            Console.WriteLine($"Fashion-MNIST test set from {shipped} (install dataset-fashion-mnist for the full set): 8,000 to train, 2,000 to test.");
            train = ml.Data.LoadFromEnumerable(Images(shipped, trainSet: false, 0, 8000));
            test = ml.Data.LoadFromEnumerable(Images(shipped, trainSet: false, 8000, 2000));
            (floatEpochs, qatEpochs) = (3, 3);
        }

        // Keys are fitted on the training labels once, so the validation set gets the same class indices.
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train);
        var trainer = ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Cnn(new ActivationShape(1, 28, 28)),
            Backend = Quantization.QuantBackend.Fbgemm,
            NumberOfFloatEpochs = floatEpochs,
            NumberOfEpochs = qatEpochs,
            FreezeObserversAfterEpoch = qatEpochs - 1,
            FreezeBatchNormAfterEpoch = qatEpochs - 1,
            LearningRate = 0.002,
            LearningRateSchedule = QatLearningRateSchedule.Cosine,
            WeightDecay = 0, // tens of thousands of images need no extra regularization (the default suits small tabular data)
            NumberOfThreads = Environment.ProcessorCount,
            ValidationSet = keys.Transform(test),
            ReportFolder = ReportFolder, // report.md, report.json and the plots
        });
        var model = keys.Append(trainer.Fit(keys.Transform(train)));
        var qat = model.LastTransformer;
        var report = qat.TrainingReport!;
        Console.WriteLine();
        Console.WriteLine(report);

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Console.WriteLine();
        Console.WriteLine($"ML.NET Evaluate on the test set (int8 model): accuracy {metrics.MicroAccuracy:P2}, macro accuracy {metrics.MacroAccuracy:P2}, log-loss {metrics.LogLoss:F4}");
        Console.WriteLine($"float {report.Float.Accuracy:P2} vs int8 {report.Int8.Accuracy:P2} " +
            $"({(report.Int8.Accuracy - report.Float.Accuracy) * 100:+0.00;-0.00} points); parameters {report.FloatModelBytes:N0} -> {report.Int8ModelBytes:N0} bytes; " +
            $"{report.FloatMicrosecondsPerRow:F0} us -> {report.Int8MicrosecondsPerRow:F0} us per image");

        Console.WriteLine($"training report with plots: {Path.GetFullPath(Path.Combine(ReportFolder, "report.md"))}");

        ml.Model.Save(model, train.Schema, modelPath);
        Console.WriteLine($"saved {Path.GetFullPath(modelPath)} ({new FileInfo(modelPath).Length:N0} bytes)");

        // A prediction engine over the reloaded model, with the class name mapped back from the key.
        var loaded = new MLContext().Model.Load(modelPath, out _);
        var withNames = loaded.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(loaded.Transform(test)));
        var engine = ml.Model.CreatePredictionEngine<Image, Prediction>(withNames);
        var samples = Images(full ? FashionMnist.DefaultDirectory : FashionMnist.ShippedDirectory(), trainSet: false, full ? 0 : 8000, 1000).ToList();
        var original = ml.Model.CreatePredictionEngine<Image, Prediction>(model.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(model.Transform(test))));
        int same = samples.Count(s => original.Predict(s).Score.SequenceEqual(engine.Predict(s).Score));
        var watch = Stopwatch.StartNew();
        int correct = 0;
        foreach (var sample in samples)
            correct += engine.Predict(sample).PredictedClass == sample.Label ? 1 : 0;
        Console.WriteLine($"reloaded model: {same}/{samples.Count} predictions identical to the trained one; PredictionEngine " +
            $"{watch.Elapsed.TotalMicroseconds / samples.Count:F1} us per image, {correct}/{samples.Count} right; " +
            $"e.g. '{engine.Predict(samples[0]).PredictedClass}' for a '{samples[0].Label}'.");
    }

    /// <summary>Images <paramref name="skip"/> .. skip+take of a file, converted lazily so the data view streams them.</summary>
    internal static IEnumerable<Image> Images(string directory, bool trainSet, int skip, int take)
    {
        var (pixels, labels) = FashionMnist.LoadRaw(directory, trainSet);
        int end = (int)Math.Min(labels.Length, (long)skip + take);
        for (int i = skip; i < end; i++)
            yield return new Image { Features = FashionMnist.Features(pixels, i), Label = FashionMnist.ClassNames[labels[i]] };
    }
}
