using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Tests.MLNet;

[TestClass]
[DoNotParallelize]
public sealed class QatMulticlassTrainerTests
{
    [TestMethod]
    public void Fit_Blobs_LearnsAndScoresInInt8()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Blobs(600, seed: 1));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1 }));
        var model = pipeline.Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Console.WriteLine(model.LastTransformer.TrainingReport);
        Assert.IsGreaterThan(0.9, metrics.MacroAccuracy);
    }
}
