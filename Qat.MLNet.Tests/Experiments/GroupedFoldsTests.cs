using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Tests.Experiments;

/// <summary>Cross-validation that keeps a person's rows in one fold (<c>SetDataset(data, folds, samplingKeyColumnName)</c>).</summary>
[TestClass]
public sealed class GroupedFoldsTests
{
    private sealed class Row
    {
        public string Person { get; set; } = "";

        [VectorType(2)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private static IDataView Visits(MLContext ml) => ml.Data.LoadFromEnumerable(
        Enumerable.Range(0, 120).Select(i => new Row { Person = $"p{i / 4}", Features = [i % 4, i / 4], Label = i % 3 == 0 }));

    [TestMethod]
    public void SamplingKey_KeepsEachPersonInOneFold_AndEveryRowIsValidatedOnce()
    {
        var ml = new MLContext(seed: 0);
        var experiment = ml.CreateQatExperiment().SetSeed(5).SetDataset(Visits(ml), folds: 3, samplingKeyColumnName: "Person");
        var validated = new List<string>();
        foreach (var (train, validation) in experiment.Splits!)
        {
            var trainPeople = train.GetColumn<string>("Person").ToHashSet();
            var validationPeople = validation.GetColumn<string>("Person").ToList();
            Assert.AreEqual(0, trainPeople.Intersect(validationPeople).Count(), "a person in both halves of a fold");
            validated.AddRange(validationPeople);
        }
        Assert.AreEqual(120, validated.Count);
        Assert.IsTrue(validated.GroupBy(p => p).All(g => g.Count() == 4), "each person's four rows are validated together, once");
    }

    [TestMethod]
    public void SamplingKey_NotInTheData_IsRefusedNamingTheColumns()
    {
        var ml = new MLContext(seed: 0);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.CreateQatExperiment().SetDataset(Visits(ml), folds: 3, samplingKeyColumnName: "Patient"));
        StringAssert.Contains(e.Message, "'Patient' is not in the data");
        StringAssert.Contains(e.Message, "Person");
    }
}
