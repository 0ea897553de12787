using Microsoft.ML;
using Qat.MLNet;
using Qat.MLNet.Consumers;
using Qat.MLNet.Trainers;

[assembly: DoNotParallelize]

namespace UserTests;

[TestClass]
public sealed class QatModelTests
{
    [TestMethod]
    public void Fit_OnBlobs_ScoresAboveNinetyPercent()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(ConsumerData.Blobs(600, seed: 1));
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), NumberOfFloatEpochs = 3, NumberOfEpochs = 3 }))
            .Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(ConsumerData.Blobs(150, seed: 2))));
        Assert.IsGreaterThan(0.9, metrics.MacroAccuracy);
    }
}
