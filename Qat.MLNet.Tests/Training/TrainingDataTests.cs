using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Qat.MLNet.Tasks;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Trainers;
using Qat.MLNet.Training;

namespace Qat.MLNet.Tests.Training;

/// <summary>The checking pass: the holdout it picks stays out of training through shuffling, and what it measures.</summary>
[TestClass]
public sealed class TrainingDataTests
{
    private static (TrainingData Data, IHost Host) Check(int rows, QatBinaryTrainer.Options options)
    {
        var ml = new MLContext(seed: 1);
        IHost host = ((IHostEnvironment)ml).Register("test");
        var view = ml.Data.LoadFromEnumerable(SyntheticData.Binary(rows, seed: 4));
        return (TrainingData.Check(host, view, options, _ => new BinaryTrainingTask(), seed: 9), host);
    }

    private static HashSet<DataViewRowId> Ids(BatchReader reader, Random? shuffle)
    {
        var ids = new HashSet<DataViewRowId>();
        foreach (int n in reader.Batches(shuffle))
            for (int i = 0; i < n; i++)
                Assert.IsTrue(ids.Add(reader.Ids[i]), "a row came twice in one pass");
        return ids;
    }

    [TestMethod]
    public void HeldOutRows_NeverReachTraining_EvenThroughShuffling()
    {
        var (data, host) = Check(500, new QatBinaryTrainer.Options());
        var task = new BinaryTrainingTask();
        Assert.AreEqual(100, data.HeldOutCount, "20 % of 500 rows, stratified to within a row per class");
        Assert.AreEqual(400, data.RowCount);

        var training = Ids(new BatchReader(data.Shuffled(host, 3), data.Feature, data.Label, task, 64, data.FeatureCount, data.TrainingRows), new Random(5));
        var heldOut = Ids(new BatchReader(data.Data, data.Feature, data.Label, task, 64, data.FeatureCount, data.HeldOutRows), null);

        Assert.HasCount(400, training);
        Assert.HasCount(100, heldOut);
        Assert.IsFalse(training.Overlaps(heldOut));
    }

    [TestMethod]
    public void ValidationSetGiven_HoldsNothingOut()
    {
        var ml = new MLContext(seed: 1);
        var (data, _) = Check(200, new QatBinaryTrainer.Options { ValidationSet = ml.Data.LoadFromEnumerable(SyntheticData.Binary(50, seed: 2)) });
        Assert.AreEqual(0, data.HeldOutCount);
        Assert.AreEqual(200, data.RowCount);
        Assert.AreEqual("validation set", data.ValidationDescription);
    }

    [TestMethod]
    public void FewRows_HoldNothingOut_AndSaySo()
    {
        var (data, _) = Check(QatDefaults.MinimumRowsForHoldout - 1, new QatBinaryTrainer.Options());
        Assert.AreEqual(0, data.HeldOutCount);
        Assert.IsFalse(data.HasValidation);
        StringAssert.Contains(data.ValidationDescription, "too few to hold any out");
    }

    [TestMethod]
    public void Standardization_HasTheTrainingRowsMoments()
    {
        var (data, _) = Check(400, new QatBinaryTrainer.Options { ValidationFraction = 0 });
        var rows = SyntheticData.Binary(400, seed: 4);
        var standardization = data.Standardization!;
        for (int f = 0; f < data.FeatureCount; f++)
        {
            double mean = rows.Average(r => r.Features[f]);
            double deviation = Math.Sqrt(rows.Average(r => (r.Features[f] - mean) * (r.Features[f] - mean)));
            Assert.AreEqual(mean, standardization.Mean[f], 1e-5, $"mean {f}");
            Assert.AreEqual(1 / deviation, standardization.Scale[f], 1e-4, $"scale {f}");
        }
    }
}
