using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>
/// Transform scores in blocks (one engine call per block of rows) and gives what one-row-at-a-time scoring gives, in
/// order, with every input column passed through; a row with non-finite features gets NaN scores and a logged warning
/// (ML.NET's behaviour) while the other rows are scored.
/// </summary>
[TestClass]
[DoNotParallelize] // trains with TorchSharp
public sealed class ScoringAtScaleTests
{
    private static MLContext _ml = null!;
    private static QatMulticlassTransformer _model = null!;
    private static ITransformer _keys = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        var data = _ml.Data.LoadFromEnumerable(SyntheticData.Blobs(300, seed: 1));
        _keys = _ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);
        _model = _ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 2, ValidationFraction = 0,
        }).Fit(_keys.Transform(data));
    }

    [TestMethod]
    public void Transform_ManyBlocks_GivesThePredictionEnginesScoresInOrderWithTheInputColumns()
    {
        // 1,000 rows: three full blocks and a partial one.
        var rows = SyntheticData.Blobs(1000, seed: 7);
        var scored = _model.Transform(_keys.Transform(_ml.Data.LoadFromEnumerable(rows)));
        var engine = _ml.Model.CreatePredictionEngine<BlobRow, BlobPrediction>(_keys.Append(_model));
        int r = 0;
        using (var cursor = scored.GetRowCursor(scored.Schema))
        {
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            var label = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema.Single(c => c.Name == "Label" && c.Type is TextDataViewType));
            var features = cursor.GetGetter<VBuffer<float>>(scored.Schema["Features"]);
            var id = cursor.GetIdGetter();
            VBuffer<float> s = default, f = default;
            ReadOnlyMemory<char> l = default;
            DataViewRowId rowId = default;
            while (cursor.MoveNext())
            {
                Assert.AreEqual(r, cursor.Position);
                score(ref s);
                label(ref l);
                features(ref f);
                id(ref rowId);
                CollectionAssert.AreEqual(engine.Predict(rows[r]).Score, s.DenseValues().ToArray(), $"row {r}");
                Assert.AreEqual(rows[r].Label, l.ToString());
                CollectionAssert.AreEqual(rows[r].Features, f.DenseValues().ToArray());
                Assert.AreEqual((ulong)r, rowId.Low);
                r++;
            }
        }
        Assert.AreEqual(rows.Count, r);
    }

    [TestMethod]
    public void Transform_AfterTheLastRow_CursorStaysAtTheEndAndGettersRefuse()
    {
        // Exactly one block: the cursor's end falls on the block's edge.
        var scored = _model.Transform(_keys.Transform(_ml.Data.LoadFromEnumerable(SyntheticData.Blobs(256, seed: 4))));
        using var cursor = scored.GetRowCursor(scored.Schema);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        int rows = 0;
        while (cursor.MoveNext())
            rows++;
        Assert.AreEqual(256, rows);
        Assert.IsFalse(cursor.MoveNext());
        Assert.AreEqual(0, cursor.Batch);
        VBuffer<float> s = default;
        var e = Assert.Throws<InvalidOperationException>(() => score(ref s));
        StringAssert.Contains(e.Message, "not on a row");
    }

    [TestMethod]
    public void Transform_CursorSet_ScoresEveryRowOnce()
    {
        var rows = SyntheticData.Blobs(700, seed: 8);
        var input = _keys.Transform(_ml.Data.LoadFromEnumerable(rows));
        var scored = _model.Transform(input);
        var expected = _model.Model.Predict(rows.SelectMany(x => x.Features).ToArray(), rows.Count);
        var seen = new Dictionary<ulong, float[]>();
        foreach (var cursor in scored.GetRowCursorSet(scored.Schema, 2))
        {
            using (cursor)
            {
                var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
                var id = cursor.GetIdGetter();
                VBuffer<float> s = default;
                DataViewRowId rowId = default;
                while (cursor.MoveNext())
                {
                    score(ref s);
                    id(ref rowId);
                    seen.Add(rowId.Low, s.DenseValues().ToArray());
                }
            }
        }
        Assert.HasCount(rows.Count, seen);
        // Scores are the softmax of the engine's outputs: check the arg-max against the engine's.
        foreach (var (row, score) in seen)
            Assert.AreEqual(MulticlassScoringTask.ArgMax(expected.AsSpan((int)row * 3, 3)), MulticlassScoringTask.ArgMax(score), $"row {row}");
    }

    [TestMethod]
    public void Transform_NonFiniteFeatures_ScoreNaNForThatRowLogAndScoreTheOthers()
    {
        var messages = new List<string>();
        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning)
                lock (messages)
                    messages.Add(e.RawMessage);
        };
        var path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "nan-rows.zip");
        _ml.Model.Save(_keys.Append(_model), null, path);
        var model = ml.Model.Load(path, out _); // scoring logs to the loading context

        var rows = SyntheticData.Blobs(1000, seed: 9);
        rows[500].Features[3] = float.NaN;
        rows[777].Features[0] = float.PositiveInfinity;
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var labels = scored.GetColumn<uint>("PredictedLabel").ToArray();

        Assert.IsTrue(scores[500].All(float.IsNaN));
        Assert.IsTrue(scores[777].All(float.IsNaN));
        Assert.AreEqual(0u, labels[500], "a row without scores has the missing key");
        Assert.AreEqual(0u, labels[777]);
        var good = Enumerable.Range(0, rows.Count).Where(i => i is not 500 and not 777).ToArray();
        Assert.IsTrue(good.All(i => scores[i].All(float.IsFinite) && labels[i] > 0));
        var expected = _model.Model.Predict(good.SelectMany(i => rows[i].Features).ToArray(), good.Length);
        for (int g = 0; g < good.Length; g++)
            Assert.AreEqual(MulticlassScoringTask.ArgMax(expected.AsSpan(g * 3, 3)) + 1, (int)labels[good[g]], $"row {good[g]}");
        Assert.IsTrue(messages.Any(m => m.Contains("Row 500") && m.Contains("slot 3") && m.Contains("NaN")), string.Join("\n", messages));
        Assert.IsTrue(messages.Any(m => m.Contains("Row 777") && m.Contains("slot 0") && m.Contains("Infinity")), string.Join("\n", messages));

        // One row through a prediction engine: NaN scores, no exception.
        var engine = ml.Model.CreatePredictionEngine<BlobRow, BlobPrediction>(model);
        Assert.IsTrue(engine.Predict(rows[500]).Score.All(float.IsNaN));
    }

    [TestMethod]
    public void ThrowOnNonFiniteFeaturesAndScoringThreads_AreSavedWithTheModel()
    {
        var strict = _ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Mlp(8), Seed = 1, NumberOfFloatEpochs = 1, NumberOfEpochs = 1, ValidationFraction = 0, ThrowOnNonFiniteFeatures = true,
            NumberOfScoringThreads = 3,
        }).Fit(_keys.Transform(_ml.Data.LoadFromEnumerable(SyntheticData.Blobs(90, seed: 1))));
        var path = Path.Combine(QatMulticlassTrainerTests.TempDirectory(), "strict.zip");
        _ml.Model.Save(strict, null, path);
        var loaded = (QatMulticlassTransformer)_ml.Model.Load(path, out _);
        Assert.IsTrue(loaded.ThrowOnNonFiniteFeatures);
        Assert.AreEqual(3, loaded.NumberOfScoringThreads);
        Assert.IsFalse(_model.ThrowOnNonFiniteFeatures);
        Assert.IsNull(_model.NumberOfScoringThreads);
        var rows = SyntheticData.Blobs(300, seed: 3);
        rows[299].Features[7] = float.NaN;
        var e = Assert.Throws<InvalidOperationException>(() => loaded.Transform(_keys.Transform(_ml.Data.LoadFromEnumerable(rows))).GetColumn<uint>("PredictedLabel").ToArray());
        StringAssert.Contains(e.Message, "Row 299");
        StringAssert.Contains(e.Message, "slot 7");
    }

    /// <summary>What a prediction engine reads back.</summary>
    public sealed class BlobPrediction
    {
        /// <summary>Class probabilities.</summary>
        public float[] Score { get; set; } = [];
    }
}
