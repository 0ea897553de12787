using System.Diagnostics;
using Microsoft.ML;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>
/// Training must survive garbage collections on other threads (ML.NET's data threads, the host application). TorchSharp
/// 0.107 passes implicitly created Scalars to native code without keeping them alive (its optimizers, Tensor.add(Tensor),
/// BatchNorm's counter), which crashed with "Expected false to be true ... Scalar::toLong" under concurrent GC; the
/// trainer avoids those paths. Here a thread forces about 500 collections a second while Fit runs, for
/// QAT_MLNET_STRESS_SECONDS (default 20) seconds. With TorchSharp's BatchNorm counter left in place this test failed
/// after 30 s here (60 fits); it cannot prove the absence of the race, only make it likely to show.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class ConcurrentGarbageCollectionTests
{
    [TestMethod]
    public void Fit_WhileAnotherThreadCollectsGarbage_DoesNotCorruptTorchSharpScalars()
    {
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("QAT_MLNET_STRESS_SECONDS"), out var s) ? s : 20;
        var ml = new MLContext(seed: 1);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(96, seed: 1)))
            .Transform(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(96, seed: 1)));
        var networks = new[]
        {
            QatNetwork.Mlp(8),
            // Conv + BatchNorm + ReLU + pooling: the float BatchNorm and the QAT ConvBn2d paths.
            QatNetwork.Cnn(new Qat.MLNet.Inference.ActivationShape(2, 2, 2), convChannels: new[] { 4 }, hiddenSize: 8),
        };

        bool stop = false;
        long collections = 0;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                // Gen-0 collections (the temporary Scalars live in gen 0), about a thousand a second: back to back they
                // would starve the training thread, which is suspended for each one while it runs managed code.
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                Interlocked.Increment(ref collections);
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        collector.Start();
        int fits = 0;
        try
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var options = new QatMulticlassTrainer.Options
                {
                    Network = networks[fits % 2], Optimizer = fits % 4 < 2 ? QatOptimizer.Adam : QatOptimizer.Sgd,
                    WeightDecay = 1e-4, BatchSize = 8, NumberOfFloatEpochs = 1, NumberOfEpochs = 2, Seed = fits,
                };
                ml.MulticlassClassification.Trainers.Qat(options).Fit(data);
                fits++;
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Console.WriteLine($"{fits} fits, {collections} forced collections");
        Assert.IsGreaterThan(3, fits);
        Assert.IsGreaterThan(100, Interlocked.Read(ref collections));
    }
}
