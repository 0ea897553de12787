using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet;
using Qat.MLNet.Scoring;
using Qat.MLNet.Testing;
using Qat.MLNet.Trainers;

[assembly: DoNotParallelize]

namespace UserTests;

/// <summary>What a team would check before shipping its int8 model: accuracy, the int8 loss against float, size, reload.</summary>
[TestClass]
public sealed class QatModelTests
{
    private static MLContext _ml = null!;
    private static IDataView _test = null!;
    private static TransformerChain<QatMulticlassTransformer> _model = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        var train = _ml.Data.LoadFromEnumerable(Blobs(600, seed: 1));
        _test = _ml.Data.LoadFromEnumerable(Blobs(150, seed: 2));
        _model = _ml.Transforms.Conversion.MapValueToKey("Label")
            // A size budget (Int8Model_IsSmall): one network. On at most 1,000 rows the default would average five, merged
            // into one five times as wide, which this test would refuse.
            .Append(_ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1, EnsembleSize = 1 }))
            .Fit(train);
    }

    [TestMethod]
    public void Int8Model_ScoresAboveNinetyPercent() =>
        Assert.IsGreaterThan(0.9, _ml.MulticlassClassification.Evaluate(_model.Transform(_test)).MacroAccuracy);

    [TestMethod]
    public void Int8Model_LosesAtMostOnePointAgainstFloat() => Assert.That.AccuracyDropAtMost(_model.LastTransformer, 0.01);

    [TestMethod]
    public void Int8Model_IsSmall() => Assert.That.ModelSizeAtMost(_model.LastTransformer.Model, maxFileBytes: 2_000, maxResidentBytes: 4_000);

    [TestMethod]
    public void SavedModel_ScoresAsTrained() => Assert.That.ScoresEqualAfterReload(_model, _test);

    [TestMethod]
    public void Scores_AreProbabilities()
    {
        var scores = _model.Transform(_test).GetColumn<float[]>("Score").First();
        Assert.That.AreClose(new[] { 1f }, new[] { scores.Sum() }, atol: 1e-5);
    }

    private static List<Row> Blobs(int rows, int seed)
    {
        var random = new Random(seed);
        var centres = new[] { new[] { 2f, 0f }, new[] { -2f, 0f }, new[] { 0f, 2.5f } };
        return Enumerable.Range(0, rows).Select(i =>
        {
            int c = i % 3;
            return new Row { Features = centres[c].Select(v => v + 0.5f * (float)(random.NextDouble() * 2 - 1)).ToArray(), Label = c.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }).ToList();
    }

    /// <summary>Two features, a text class.</summary>
    public sealed class Row
    {
        /// <summary>The features.</summary>
        [VectorType(2)]
        public float[] Features { get; set; } = [];

        /// <summary>The class name.</summary>
        public string Label { get; set; } = "";
    }
}
