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
    private static (TrainingData Data, IHost Host) Check(int rows, QatBinaryTrainer.Options options, bool cached = false)
    {
        var ml = new MLContext(seed: 1);
        IHost host = ((IHostEnvironment)ml).Register("test");
        var view = ml.Data.LoadFromEnumerable(SyntheticData.Binary(rows, seed: 4));
        if (cached)
            view = ml.Data.Cache(view);
        return (TrainingData.Check(host, view, options, _ => new BinaryTrainingTask(), seed: 9), host);
    }

    private static List<DataViewRowId> Order(BatchReader reader, Random shuffle)
    {
        var order = new List<DataViewRowId>();
        foreach (int n in reader.Batches(shuffle))
            order.AddRange(reader.Ids.AsSpan(0, n).ToArray());
        return order;
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

        var pool = BatchReader.ShufflePool(data.Data, data.FeatureCount);
        Assert.AreEqual(QatDefaults.ShufflePoolSize, pool, "streaming data cannot shuffle itself: it goes through the pool");
        var reader = new BatchReader(data.Data, data.Feature, data.Label, task, 64, data.FeatureCount, data.TrainingRows, shufflePool: pool);
        var training = Ids(reader, new Random(5));
        var order = Order(reader, new Random(6));
        CollectionAssert.AreEquivalent(training.ToList(), order, "every pass through the pool visits the same rows once");
        CollectionAssert.AreNotEqual(order.OrderBy(id => id.Low).ToList(), order, "the pool shuffled the rows");
        CollectionAssert.AreNotEqual(Order(reader, new Random(7)), order, "each pass has its own order");
        var heldOut = Ids(new BatchReader(data.Data, data.Feature, data.Label, task, 64, data.FeatureCount, data.HeldOutRows), null);

        Assert.HasCount(400, training);
        Assert.HasCount(100, heldOut);
        Assert.IsFalse(training.Overlaps(heldOut));
    }

    [TestMethod]
    public void CachedData_ShufflesItselfWithoutAPool_HeldOutRowsStillOut_NewOrderEveryPass()
    {
        var (data, _) = Check(500, new QatBinaryTrainer.Options(), cached: true);
        var task = new BinaryTrainingTask();
        Assert.AreEqual(0, BatchReader.ShufflePool(data.Data, data.FeatureCount), "a cache can shuffle itself: no pool in front of it");

        var reader = new BatchReader(data.Data, data.Feature, data.Label, task, 64, data.FeatureCount, data.TrainingRows);
        var heldOut = Ids(new BatchReader(data.Data, data.Feature, data.Label, task, 64, data.FeatureCount, data.HeldOutRows), null);
        var random = new Random(5);
        var first = Order(reader, new Random(random.Next()));
        var second = Order(reader, new Random(random.Next()));
        Assert.HasCount(400, first);
        CollectionAssert.AreEquivalent(first, second, "every pass visits the same training rows");
        CollectionAssert.AreNotEqual(first, second, "each pass has its own order");
        Assert.IsFalse(first.Any(heldOut.Contains), "a held-out row reached training");
        CollectionAssert.AreNotEqual(first.OrderBy(id => id.Low).ToList(), first, "the rows were not shuffled");
    }

    [TestMethod]
    public void StreamingShufflePool_IsBoundedByBytes_ForWideRows_AndShufflesEveryRowThroughIt()
    {
        var ml = new MLContext(seed: 1);
        var streaming = ml.Data.LoadFromEnumerable(SyntheticData.Binary(10, seed: 4));
        Assert.AreEqual(QatDefaults.ShufflePoolSize, BatchReader.ShufflePool(streaming, 784), "Fashion-MNIST rows: the full pool");
        int wide = BatchReader.ShufflePool(streaming, 50_000);
        Assert.AreEqual(QatDefaults.ShufflePoolBytes / (4 * 50_000), wide);
        Assert.IsLessThanOrEqualTo(QatDefaults.ShufflePoolBytes, 4L * 50_000 * wide);
        Assert.AreEqual(16, BatchReader.ShufflePool(streaming, 1 << 24), "never fewer than 16 rows");

        // A pool smaller than the data: rows stream through it, none lost or doubled, the features stay with their label.
        var (data, _) = Check(300, new QatBinaryTrainer.Options { ValidationFraction = 0, FeatureScaling = QatFeatureScaling.None });
        var reader = new BatchReader(data.Data, data.Feature, data.Label, new BinaryTrainingTask(), 32, data.FeatureCount, shufflePool: 16);
        var rows = SyntheticData.Binary(300, seed: 4);
        var seen = new List<long>();
        foreach (int n in reader.Batches(new Random(3)))
        {
            for (int i = 0; i < n; i++)
            {
                int row = (int)reader.Ids[i].Low;
                seen.Add(row);
                CollectionAssert.AreEqual(rows[row].Features, reader.Features.AsSpan(i * data.FeatureCount, data.FeatureCount).ToArray(), $"row {row}'s features");
                Assert.AreEqual(rows[row].Label ? 1f : 0f, reader.Labels[i], $"row {row}'s label");
            }
        }
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 300).Select(i => (long)i).ToList(), seen);
        Assert.IsGreaterThan(100, seen.Zip(seen.Skip(1)).Count(p => p.Second != p.First + 1), "a pool of 16 still mixes neighbours");
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
