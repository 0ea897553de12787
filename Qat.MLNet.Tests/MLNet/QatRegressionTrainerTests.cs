using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

[TestClass]
[DoNotParallelize]
public sealed class QatRegressionTrainerTests
{
    [TestMethod]
    public void Fit_SmoothFunction_PredictsInInt8AndRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Regression(1000, seed: 1));
        var model = ml.Regression.Trainers.Qat(new QatRegressionTrainer.Options
        {
            Network = QatNetwork.Mlp(32), LearningRate = 0.01, NumberOfFloatEpochs = 4, NumberOfEpochs = 4, Seed = 1, ValidationFraction = 0,
        }).Fit(data);

        var scored = model.Transform(data);
        var metrics = ml.Regression.Evaluate(scored);
        var report = model.TrainingReport!;
        Assert.IsGreaterThan(0.85, metrics.RSquared, report.ToString());
        Assert.IsNull(report.Int8.Accuracy);
        Assert.AreEqual(metrics.MeanSquaredError, report.Int8.Loss, 1e-4 * metrics.MeanSquaredError);
        Assert.AreEqual("Regression", ScoreColumnKind(scored.Schema["Score"]));

        string path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "regression.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        CollectionAssert.AreEqual(scored.GetColumn<float>("Score").ToArray(), loaded.Transform(data).GetColumn<float>("Score").ToArray());
    }

    private static string ScoreColumnKind(DataViewSchema.Column column)
    {
        var value = default(ReadOnlyMemory<char>);
        column.Annotations.GetValue("ScoreColumnKind", ref value);
        return value.ToString();
    }
}
