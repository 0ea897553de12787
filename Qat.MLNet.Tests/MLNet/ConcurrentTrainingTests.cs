using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>A seed means the same model whatever other Fits run beside it (TorchSharp's generator is process-wide).</summary>
[TestClass]
[DoNotParallelize]
public sealed class ConcurrentTrainingTests
{
    private static float[] FitAndScore(int seed, bool dropout = false)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Blobs(240, seed: 2));
        // A custom network with Dropout draws masks from TorchSharp's process-wide generator at every training step.
        var network = dropout
            ? QatNetwork.Custom((inputs, outputs) => TorchSharp.torch.nn.Sequential(
                ("fc1", TorchSharp.torch.nn.Linear(inputs, 32)), ("relu1", TorchSharp.torch.nn.ReLU()), ("drop", TorchSharp.torch.nn.Dropout(0.3)),
                ("fc2", TorchSharp.torch.nn.Linear(32, outputs))))
            : QatNetwork.Mlp(16);
        var model = QatMulticlassTrainerTests.Pipeline(ml, new QatMulticlassTrainer.Options
        {
            Network = network, NumberOfFloatEpochs = 2, NumberOfEpochs = 1, Seed = seed, NumberOfThreads = 1,
        }).Fit(data);
        return model.Transform(data).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();
    }

    [TestMethod]
    public void TwoFitsAtOnce_WithFixedSeeds_GiveTheModelsOfSequentialFits()
    {
        var first = FitAndScore(11);
        var second = FitAndScore(12);
        for (int round = 0; round < 6; round++)
        {
            float[]? a = null, b = null;
            Parallel.Invoke(() => a = FitAndScore(11), () => b = FitAndScore(12));
            CollectionAssert.AreEqual(first, a, $"round {round}: seed 11 beside seed 12");
            CollectionAssert.AreEqual(second, b, $"round {round}: seed 12 beside seed 11");
        }
    }

    [TestMethod]
    public void TwoFitsAtOnce_WithDropout_GiveTheModelsOfSequentialFits()
    {
        var first = FitAndScore(21, dropout: true);
        var second = FitAndScore(22, dropout: true);
        CollectionAssert.AreNotEqual(first, FitAndScore(23, dropout: true), "another seed, other dropout masks: another model");
        for (int round = 0; round < 4; round++)
        {
            float[]? a = null, b = null;
            Parallel.Invoke(() => a = FitAndScore(21, dropout: true), () => b = FitAndScore(22, dropout: true));
            CollectionAssert.AreEqual(first, a, $"round {round}: seed 21 beside seed 22");
            CollectionAssert.AreEqual(second, b, $"round {round}: seed 22 beside seed 21");
        }
    }
}
