using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples;

namespace Qat.MLNet.Tests.Examples;

/// <summary>
/// The tabular benchmark's loader on a file shaped like statsmodels' modechoice: label in the middle, a person's id that
/// only groups rows, a category stored as a number, ';' between fields.
/// </summary>
[TestClass]
public sealed class TabularDataSetTests
{
    private static readonly string[] Lines =
    [
        "person;mode;chosen;cost;time",
        "1;1;0;10;100", "1;2;1;20;50", "1;3;0;5;300",
        "2;1;1;12;90", "2;2;0;22;55", "2;3;0;6;280",
        "3;1;0;11;95", "3;2;0;18;60", "3;3;1;4;310",
        "4;1;0;13;99", "4;2;1;25;40", "4;3;0;7;260",
    ];

    private static TabularDataSet ModeChoiceLike(string path) =>
        new("modechoice-like", path, TabularTask.Binary, "1") { LabelColumn = 2, GroupColumn = 0, CategoricalColumns = [1], Separator = ';' };

    [TestMethod]
    public void Load_LabelInTheMiddleGroupAndCategory_FeaturesAreNumbersThenOneHot()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qat-tabular-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, Lines);
        try
        {
            var ml = new MLContext(seed: 0);
            var data = ModeChoiceLike(path).Load(ml, path);
            Assert.AreEqual(2 + 3, ((VectorDataViewType)data.Schema["Features"].Type).Size, "cost and time, then three one-hot modes");
            var features = data.GetColumn<float[]>("Features").ToList();
            CollectionAssert.AreEqual(new float[] { 20, 50, 0, 1, 0 }, features[1]);
            CollectionAssert.AreEqual(new float[] { 4, 310, 0, 0, 1 }, features[8]);
            CollectionAssert.AreEqual(new[] { false, true, false, true, false, false, false, false, true, false, true, false }, data.GetColumn<bool>("Label").ToArray());
            Assert.AreEqual("Group", ModeChoiceLike(path).SplitKey);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void SplitKey_KeepsEachPersonsRowsOnOneSide_ForEverySeed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qat-tabular-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, Lines);
        try
        {
            var set = ModeChoiceLike(path);
            var trainSides = new HashSet<string>();
            for (int seed = 0; seed < 8; seed++)
            {
                var ml = new MLContext(seed: seed);
                var split = ml.Data.TrainTestSplit(set.Load(ml, path), testFraction: 0.5, samplingKeyColumnName: set.SplitKey, seed: seed);
                var train = split.TrainSet.GetColumn<ReadOnlyMemory<char>>("Group").Select(g => g.ToString()).ToHashSet();
                var test = split.TestSet.GetColumn<ReadOnlyMemory<char>>("Group").Select(g => g.ToString()).ToHashSet();
                Assert.AreEqual(0, train.Intersect(test).Count(), $"seed {seed}: a person on both sides");
                Assert.AreEqual(12, split.TrainSet.GetColumn<bool>("Label").Count() + split.TestSet.GetColumn<bool>("Label").Count());
                trainSides.Add(string.Join(",", train.Order()));
            }
            Assert.IsTrue(trainSides.Count > 1, "the seed must change which people train (a numeric key would split the same way every time)");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
