using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>A seed means the same model whatever other Fits run beside it (TorchSharp's generator is process-wide).</summary>
[TestClass]
[DoNotParallelize]
public sealed class ConcurrentTrainingTests
{
    private static float[] FitAndScore(int seed)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Blobs(240, seed: 2));
        var model = QatMulticlassTrainerTests.Pipeline(ml, new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Mlp(16), NumberOfFloatEpochs = 2, NumberOfEpochs = 1, Seed = seed, NumberOfThreads = 1,
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
}
