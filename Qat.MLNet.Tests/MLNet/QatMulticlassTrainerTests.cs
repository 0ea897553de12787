using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;
using TorchSharp;

namespace Qat.MLNet.Tests.MLNet;

[TestClass]
[DoNotParallelize]
public sealed class QatMulticlassTrainerTests
{
    private static MLContext _ml = null!;
    private static IDataView _data = null!;
    private static TransformerChain<QatMulticlassTransformer> _model = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        _data = _ml.Data.LoadFromEnumerable(SyntheticData.Blobs(600, seed: 1));
        // Epochs as set (run exactly) and no holdout: the report's epochs and rows are known.
        _model = Pipeline(_ml, new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 1, NumberOfFloatEpochs = 2, NumberOfEpochs = 3, ValidationFraction = 0, LearningRate = 0.01 }).Fit(_data);
    }

    internal static EstimatorChain<QatMulticlassTransformer> Pipeline(MLContext ml, QatMulticlassTrainer.Options options) =>
        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Qat(options));

    [TestMethod]
    public void Fit_Blobs_Int8ModelIsAccurateAndMatchesFakeQuant()
    {
        var metrics = _ml.MulticlassClassification.Evaluate(_model.Transform(_data));
        var report = _model.LastTransformer.TrainingReport!;

        Assert.IsGreaterThan(0.9, metrics.MacroAccuracy, report.ToString());
        Assert.HasCount(2 + 3, report.Epochs);
        Assert.AreEqual(QatTrainingPhase.Float, report.Epochs[0].Phase);
        Assert.AreEqual(QatTrainingPhase.QuantizationAware, report.Epochs[^1].Phase);
        Assert.IsTrue(report.Epochs[^1].ObserversFrozen && report.Epochs[^1].BatchNormFrozen);
        Assert.IsFalse(report.Epochs[^2].ObserversFrozen);
        Assert.AreEqual(600, report.TrainingRows);
        Assert.AreEqual("training data", report.EvaluatedOn);
        // ML.NET's evaluator and the report measure the same int8 model on the same rows.
        Assert.AreEqual(metrics.MicroAccuracy, report.Int8.Accuracy!.Value, 1e-9);
        Assert.AreEqual(report.FakeQuantized.Accuracy!.Value, report.Int8.Accuracy!.Value, 0.02);
        Assert.IsLessThan(report.FloatModelBytes, report.Int8ModelBytes);
    }

    [TestMethod]
    public void Transform_Score_IsSoftmaxOfTheInt8EngineOutput()
    {
        var transformer = _model.LastTransformer;
        var rows = SyntheticData.Blobs(30, seed: 5);
        var scored = _model.Transform(_ml.Data.LoadFromEnumerable(rows));
        var scores = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var logits = transformer.Model.Predict(rows[r].Features);
            var expected = logits.Select(v => MathF.Exp(v - logits.Max())).ToArray();
            float sum = expected.Sum();
            var actual = scores[r];
            for (int c = 0; c < logits.Length; c++)
                Assert.AreEqual(expected[c] / sum, actual[c], 1e-6f, $"row {r}: logits {string.Join(",", logits)} actual {string.Join(",", actual)}");
            Assert.AreEqual((uint)Array.IndexOf(logits, logits.Max()) + 1, predicted[r]);
        }
    }

    [TestMethod]
    public void OutputSchema_CarriesMlNetAnnotations_AndMapKeyToValueRestoresLabels()
    {
        var scored = _model.Transform(_data);
        var score = scored.Schema["Score"];
        var predicted = scored.Schema["PredictedLabel"];
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        Assert.AreEqual(new KeyDataViewType(typeof(uint), 3), predicted.Type);

        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        score.GetSlotNames(ref slotNames);
        var keyValues = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Label"].GetKeyValues(ref keyValues);
        CollectionAssert.AreEqual(keyValues.DenseValues().Select(v => v.ToString()).ToArray(), slotNames.DenseValues().Select(v => v.ToString()).ToArray());
        Assert.AreEqual("MulticlassClassification", Annotation(score, "ScoreColumnKind"));
        Assert.AreEqual("Score", Annotation(score, "ScoreValueKind"));
        Assert.AreEqual("PredictedLabel", Annotation(predicted, "ScoreValueKind"));

        var mapped = _ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel").Fit(scored).Transform(scored);
        var texts = mapped.GetColumn<ReadOnlyMemory<char>>("PredictedText").Select(t => t.ToString()).ToArray();
        var truth = SyntheticData.Blobs(600, seed: 1).Select(r => r.Label).ToArray();
        Assert.IsGreaterThan(0.9, texts.Zip(truth, (p, t) => p == t ? 1.0 : 0.0).Average());
        CollectionAssert.IsSubsetOf(texts.Distinct().ToArray(), SyntheticData.ClassNames);
    }

    [TestMethod]
    public void PredictionEngine_GivesTheTransformResults_RowAfterRow()
    {
        var rows = SyntheticData.Blobs(20, seed: 9);
        var engine = _ml.Model.CreatePredictionEngine<BlobRow, MulticlassPrediction>(_model);
        var viaTransform = _model.Transform(_ml.Data.LoadFromEnumerable(rows)).GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var prediction = engine.Predict(rows[r]);
            CollectionAssert.AreEqual(viaTransform[r], prediction.Score);
            Assert.AreEqual(SyntheticData.ClassNames.Length, prediction.Score.Length);
        }
    }

    [TestMethod]
    public void SaveLoad_InThisProcess_PredictsIdenticallyAndKeepsTheReport()
    {
        string path = Path.Combine(TempDirectory(), "model.zip");
        _ml.Model.Save(_model, _data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out var schema);

        var rows = _ml.Data.LoadFromEnumerable(SyntheticData.Blobs(50, seed: 3));
        CollectionAssert.AreEqual(Scores(_model.Transform(rows)), Scores(loaded.Transform(rows)));
        var chain = (TransformerChain<ITransformer>)loaded;
        var qat = chain.OfType<QatMulticlassTransformer>().Single();
        Assert.AreEqual(_model.LastTransformer.TrainingReport!.ToJson(), qat.TrainingReport!.ToJson());
        Assert.AreEqual("Features", qat.FeatureColumnName);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, qat.Model.InputSize), schema["Features"].Type);
    }

    [TestMethod]
    public void SaveLoad_InAFreshProcess_PredictsIdentically()
    {
        string path = Path.Combine(TempDirectory(), "model.zip");
        _ml.Model.Save(_model, _data.Schema, path);
        var rows = SyntheticData.Blobs(40, seed: 4);
        var expected = Scores(_model.Transform(_ml.Data.LoadFromEnumerable(rows)));

        var actual = FreshProcessScorer.ScoreInNewProcess(path, rows.Select(r => r.Features).ToList(), SyntheticData.ClassNames.Length);

        CollectionAssert.AreEqual(expected, actual);
    }

    [TestMethod]
    public void CrossValidate_WithCacheCheckpoint_TrainsEveryFold()
    {
        var ml = new MLContext(seed: 2);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Blobs(300, seed: 2));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), LearningRate = 0.01, Seed = 2 }));

        var folds = ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 3);

        Assert.HasCount(3, folds);
        foreach (var fold in folds)
            Assert.IsGreaterThan(0.8, fold.Metrics.MacroAccuracy);
    }

    [TestMethod]
    public void PredictionEngine_SharedByThreads_ThrowsNamingTheFix()
    {
        var rows = SyntheticData.Blobs(64, seed: 9);
        var engine = _ml.Model.CreatePredictionEngine<BlobRow, MulticlassPrediction>(_model);
        Exception? ours = null;
        // Dedicated threads released together, not Parallel.For: with the other tests' work on the thread pool, its
        // iterations could run one after another on one thread and never overlap (seen once, on a faster engine).
        const int threadCount = 4;
        using var start = new Barrier(threadCount);
        var other = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, threadCount).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 50_000 && Volatile.Read(ref ours) is null; i++)
            {
                try
                {
                    engine.Predict(rows[(t * 31 + i) % rows.Count]);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("two threads at once", StringComparison.Ordinal))
                {
                    Interlocked.CompareExchange(ref ours, e, null);
                }
                catch (Exception e)
                {
                    other.Enqueue(e); // anything else fails the test below (on a thread of its own it would end the process)
                    return;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.IsEmpty(other, string.Join(Environment.NewLine, other));
        Assert.IsNotNull(ours, "four threads sharing one engine were never caught");
        StringAssert.Contains(ours.Message, "one engine per thread");
        StringAssert.Contains(ours.Message, "PredictionEnginePool");
        // One thread at a time is fine again afterwards.
        CollectionAssert.AreEqual(_ml.Model.CreatePredictionEngine<BlobRow, MulticlassPrediction>(_model).Predict(rows[0]).Score, engine.Predict(rows[0]).Score);
    }

    [TestMethod]
    public void Fit_WithValidationSet_ReportsItEveryEpochAndLogsProgress()
    {
        var ml = new MLContext(seed: 3);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.RawMessage.StartsWith("Qat epoch", StringComparison.Ordinal)) lock (messages) messages.Add(e.RawMessage); };
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(300, seed: 6)));
        var train = keys.Transform(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(300, seed: 6)));
        var validation = keys.Transform(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(90, seed: 6)));

        var model = ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
        {
            Network = QatNetwork.Mlp(16), ValidationSet = validation, NumberOfFloatEpochs = 1, NumberOfEpochs = 2,
            Optimizer = QatOptimizer.Sgd, LearningRate = 0.05, LearningRateSchedule = QatLearningRateSchedule.Step, LearningRateGamma = 0.5,
        }).Fit(train);

        var report = model.TrainingReport!;
        Assert.AreEqual("validation set", report.EvaluatedOn);
        Assert.AreEqual(90, report.Int8.RowCount);
        Assert.IsTrue(report.Epochs.All(e => e.Validation is { RowCount: 90 }));
        CollectionAssert.AreEqual(new[] { 0.05, 0.025, 0.0125 }, report.Epochs.Select(e => Math.Round(e.LearningRate, 10)).ToArray());
        Assert.HasCount(3, messages);
        StringAssert.StartsWith(messages[2], "Qat epoch 3 (QAT 2/2");
    }

    [TestMethod]
    public void Fit_CancelExecution_StopsWithOperationCanceledAndRestoresThreads()
    {
        var ml = new MLContext(seed: 4);
        int threads = torch.get_num_threads();
        ml.Log += (_, e) => { if (e.RawMessage.StartsWith("Qat epoch 1 ", StringComparison.Ordinal)) ml.CancelExecution(); };
        var pipeline = Pipeline(ml, new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), NumberOfThreads = 1, BatchSize = 8 });

        Assert.ThrowsExactly<OperationCanceledException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(SyntheticData.Blobs(300, seed: 7))));
        Assert.AreEqual(threads, torch.get_num_threads());
    }

    [TestMethod]
    public void Fit_SameSeedTwice_GivesTheSameModel()
    {
        var first = Pipeline(new MLContext(), new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 11 }).Fit(_data);
        var second = Pipeline(new MLContext(), new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 11 }).Fit(_data);
        CollectionAssert.AreEqual(Scores(first.Transform(_data)), Scores(second.Transform(_data)));
    }

    [TestMethod]
    public void GetOutputSchema_OfTheEstimator_AddsScoreAndPredictedLabel()
    {
        var pipeline = Pipeline(_ml, new QatMulticlassTrainer.Options());
        var shape = pipeline.GetOutputSchema(ShapeOf(_data.Schema));
        var score = shape.Single(c => c.Name == "Score");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, score.Kind);
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        Assert.IsTrue(predicted.IsKey);
        Assert.IsTrue(predicted.Annotations.Any(c => c.Name == "KeyValues"));
    }

    [TestMethod]
    public void Fit_CustomAndConvolutionalNetworks_Train()
    {
        var ml = new MLContext(seed: 5);
        var custom = QatNetwork.Custom((inputs, outputs) => torch.nn.Sequential(
            ("block", torch.nn.Sequential(("fc", torch.nn.Linear(inputs, 12)), ("relu", torch.nn.ReLU()))),
            ("drop", torch.nn.Dropout(0.1)),
            ("head", torch.nn.Linear(12, outputs))), description: "custom mlp");
        // The 8 features read as a 2x2x2 image: convolution, batch norm and pooling on tiny maps.
        var cnn = QatNetwork.Cnn(new Qat.MLNet.Inference.ActivationShape(2, 2, 2), convChannels: new[] { 4 }, hiddenSize: 8);

        foreach (var network in new[] { custom, cnn })
        {
            var model = Pipeline(ml, new QatMulticlassTrainer.Options { Network = network, Seed = 5, LearningRate = 0.01 }).Fit(_data);
            var report = model.LastTransformer.TrainingReport!;
            Assert.AreEqual(network.Description, report.Network);
            Assert.IsGreaterThan(0.8, report.Int8.Accuracy!.Value, report.ToString());
            Assert.AreEqual(report.FakeQuantized.Accuracy!.Value, report.Int8.Accuracy!.Value, 0.02, report.ToString());
        }
    }

    [TestMethod]
    public void Fit_QnnpackBackendAndNumericLabels_KeepTheLabelValuesThroughSaveAndLoad()
    {
        var ml = new MLContext(seed: 6);
        var rows = SyntheticData.Blobs(300, seed: 6).Select(r => new NumericLabelRow { Features = r.Features, Label = 10f * Array.IndexOf(SyntheticData.ClassNames, r.Label) }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
            {
                Network = QatNetwork.Mlp(16), Backend = Qat.MLNet.Quantization.QuantBackend.Qnnpack, LearningRate = 0.01, Seed = 6,
            }))
            .Fit(data);
        Assert.AreEqual("qnnpack", model.LastTransformer.TrainingReport!.QConfig);
        Assert.IsGreaterThan(0.9, model.LastTransformer.TrainingReport.Int8.Accuracy!.Value);

        string path = Path.Combine(TempDirectory(), "numeric.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        foreach (var transformer in new ITransformer[] { model, loaded })
        {
            var scored = transformer.Transform(data);
            var values = ml.Transforms.Conversion.MapKeyToValue("PredictedValue", "PredictedLabel").Fit(scored).Transform(scored)
                .GetColumn<float>("PredictedValue").ToArray();
            Assert.IsGreaterThan(0.9, values.Zip(rows, (p, r) => p == r.Label ? 1.0 : 0.0).Average());
        }
        CollectionAssert.AreEqual(Scores(model.Transform(data)), Scores(loaded.Transform(data)));
    }

    internal static float[] Scores(IDataView scored) =>
        scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray();

    /// <summary>ML.NET's SchemaShape.Create is internal; estimators get their input shape through it.</summary>
    internal static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!.Invoke(null, new object[] { schema })!;

    internal static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "qat-mlnet-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string Annotation(DataViewSchema.Column column, string kind)
    {
        var value = default(ReadOnlyMemory<char>);
        column.Annotations.GetValue(kind, ref value);
        return value.ToString();
    }
}

/// <summary>A blob row whose class is a number (0, 10, 20).</summary>
public sealed class NumericLabelRow
{
    /// <summary>Features.</summary>
    [VectorType(SyntheticData.FeatureCount)]
    public float[] Features { get; set; } = Array.Empty<float>();

    /// <summary>Class value.</summary>
    public float Label { get; set; }
}

/// <summary>What a prediction engine returns for the multiclass model.</summary>
public sealed class MulticlassPrediction
{
    /// <summary>Class probabilities.</summary>
    public float[] Score { get; set; } = Array.Empty<float>();

    /// <summary>Predicted key.</summary>
    public uint PredictedLabel { get; set; }
}
