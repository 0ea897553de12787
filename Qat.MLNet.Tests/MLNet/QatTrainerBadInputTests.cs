using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;
using TorchSharp;

namespace Qat.MLNet.Tests.MLNet;

[TestClass]
[DoNotParallelize]
public sealed class QatTrainerBadInputTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private sealed class DoubleRow
    {
        [VectorType(SyntheticData.FeatureCount)] public double[] Features { get; set; } = Array.Empty<double>();
        public bool Label { get; set; }
    }

    private sealed class VariableRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        public bool Label { get; set; }
    }

    private sealed class WideRow
    {
        [VectorType(SyntheticData.FeatureCount + 1)] public float[] Features { get; set; } = Array.Empty<float>();
        public bool Label { get; set; }
    }

    private static QatBinaryTrainer Binary(Action<QatBinaryTrainer.Options>? configure = null)
    {
        var options = new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(4), NumberOfFloatEpochs = 0, NumberOfEpochs = 1, Seed = 1 };
        configure?.Invoke(options);
        return Ml.BinaryClassification.Trainers.Qat(options);
    }

    private static QatBinaryTransformer TrainedBinary() => Binary().Fit(Ml.Data.LoadFromEnumerable(SyntheticData.Binary(100, seed: 1)));

    private static void Throws<TException>(Action action, params string[] fragments) where TException : Exception
    {
        var e = Assert.Throws<TException>(action);
        foreach (string fragment in fragments)
            StringAssert.Contains(e.Message, fragment);
    }

    [TestMethod]
    public void Fit_MissingColumns_NameThemAndListWhatIsThere()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(10, seed: 1));
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.FeatureColumnName = "Pixels").Fit(data), "Feature column 'Pixels' not found", "Features (Vector<Single, 8>)");
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.LabelColumnName = "Target").Fit(data), "Label column 'Target' not found");
    }

    [TestMethod]
    public void Fit_WrongFeatureTypes_SayWhatWasExpected()
    {
        Throws<ArgumentOutOfRangeException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(new[] { new DoubleRow { Features = new double[8] } })),
            "feature column 'Features'", "expected Vector<Single>", "Vector<Double, 8>");
        Throws<ArgumentOutOfRangeException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(new[] { new VariableRow { Features = new float[8] } })),
            "vector of known size", "variable size");
    }

    [TestMethod]
    public void Fit_WrongLabelTypes_SayHowToFixThem()
    {
        var blobs = Ml.Data.LoadFromEnumerable(SyntheticData.Blobs(30, seed: 1));
        Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.Qat().Fit(blobs), "label column 'Label'", "expected Key", "String", "MapValueToKey");
        var floats = Ml.Data.LoadFromEnumerable(SyntheticData.Regression(30, seed: 1));
        Throws<ArgumentOutOfRangeException>(() => Binary().Fit(floats), "expected Boolean", "Single");
        var bools = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(30, seed: 1));
        Throws<ArgumentOutOfRangeException>(() => Ml.Regression.Trainers.Qat().Fit(bools), "expected Single", "Boolean");
    }

    [TestMethod]
    public void Fit_OneClassOnly_IsRefused()
    {
        var rows = SyntheticData.Blobs(30, seed: 1).Select(r => new BlobRow { Features = r.Features, Label = "circle" }).ToList();
        var keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(rows)).Transform(Ml.Data.LoadFromEnumerable(rows));
        Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.Qat().Fit(keyed), "1 possible value", "at least two classes");

        var twoKeys = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(SyntheticData.Blobs(30, seed: 1)))
            .Transform(Ml.Data.LoadFromEnumerable(rows));
        Throws<InvalidOperationException>(() => Ml.MulticlassClassification.Trainers.Qat().Fit(twoKeys), "only one class", "'circle'", "30 rows");

        var allTrue = SyntheticData.Binary(30, seed: 1).Select(r => new BinaryRow { Features = r.Features, Label = true });
        Throws<InvalidOperationException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(allTrue)), "= true", "both classes");
    }

    [TestMethod]
    public void Fit_EmptyData_IsRefused() =>
        Throws<InvalidOperationException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(new List<BinaryRow>())), "no rows");

    [TestMethod]
    public void Fit_NonFiniteFeatureOrLabel_NamesTheRowAndSlot()
    {
        var rows = SyntheticData.Binary(50, seed: 1);
        rows[37].Features[5] = float.NaN;
        Throws<InvalidOperationException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(rows)), "Row 37", "'Features'", "NaN", "slot 5", "ReplaceMissingValues");
        rows[37].Features[5] = 0;
        rows[12].Features[0] = float.PositiveInfinity;
        Throws<InvalidOperationException>(() => Binary().Fit(Ml.Data.LoadFromEnumerable(rows)), "Row 12", "slot 0");

        var regression = SyntheticData.Regression(20, seed: 1);
        regression[3].Label = float.NaN;
        Throws<InvalidOperationException>(() => Ml.Regression.Trainers.Qat().Fit(Ml.Data.LoadFromEnumerable(regression)), "Row 3", "label column 'Label'", "NaN");
    }

    [TestMethod]
    public void Fit_UnknownKeyLabel_NamesTheRow()
    {
        var train = SyntheticData.Blobs(30, seed: 1);
        var keys = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(train));
        var rows = SyntheticData.Blobs(30, seed: 2);
        rows[4].Label = "hexagon";
        Throws<InvalidOperationException>(() => Ml.MulticlassClassification.Trainers.Qat().Fit(keys.Transform(Ml.Data.LoadFromEnumerable(rows))), "Row 4", "missing (key 0");
    }

    [TestMethod]
    public void Fit_ValidationSetOfAnotherShape_IsRefused()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(30, seed: 1));
        var wide = Ml.Data.LoadFromEnumerable(new[] { new WideRow { Features = new float[9] } });
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.ValidationSet = wide).Fit(data), "validation set", "9", "8");
    }

    [TestMethod]
    public void Fit_UnsupportedLayers_AreRefusedBeforeTraining()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(30, seed: 1));
        var sigmoid = QatNetwork.Custom((i, o) => torch.nn.Sequential(("fc", torch.nn.Linear(i, o)), ("act", torch.nn.Sigmoid())), description: "sigmoid net");
        Throws<NotSupportedException>(() => Binary(o => o.Network = sigmoid).Fit(data), "net.act", "Sigmoid", "sigmoid net", "Supported:");
        var looseBn = QatNetwork.Custom((i, o) => torch.nn.Sequential(("fc", torch.nn.Linear(i, o)), ("bn", torch.nn.BatchNorm2d(o))));
        Throws<NotSupportedException>(() => Binary(o => o.Network = looseBn).Fit(data), "net.bn", "does not directly follow a Conv2d");
        var cnnTooBig = QatNetwork.Cnn(new Qat.MLNet.Inference.ActivationShape(1, 4, 4));
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.Network = cnnTooBig).Fit(data), "[1, 4, 4] = 16 values", "holds 8");
    }

    [TestMethod]
    public void Fit_CustomNetworkOfTheWrongSize_IsRefusedBeforeTrainingNamingTheSizes()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(30, seed: 1));
        var tooManyOutputs = QatNetwork.Custom((i, _) => torch.nn.Sequential(("fc", torch.nn.Linear(i, 5))), description: "five outputs");
        Throws<ArgumentException>(() => Binary(o => o.Network = tooManyOutputs).Fit(data), "five outputs", "returns [2, 5]", "needs [2, 1]");
        var wrongInputs = QatNetwork.Custom((_, o) => torch.nn.Sequential(("fc", torch.nn.Linear(20, o))), description: "twenty inputs");
        Throws<ArgumentException>(() => Binary(o => o.Network = wrongInputs).Fit(data), "twenty inputs", "8 values", "Build it for 8 inputs");
    }

    [TestMethod]
    public void Fit_BatchNormAndALastBatchOfOneRow_Trains()
    {
        // 65 rows in batches of 64: the last batch has one row, on which batch norm cannot train; it is left out.
        var rows = Enumerable.Range(0, 65).Select(i => new ImageRow { Features = Enumerable.Range(0, 16).Select(k => (float)((i * 7 + k) % 5)).ToArray(), Label = i % 2 == 0 }).ToList();
        // A 4x4 kernel on 4x4 images: one value per channel reaches the batch norm, so a one-row batch has no variance.
        var cnn = QatNetwork.Custom((_, o) => torch.nn.Sequential(("conv", torch.nn.Conv2d(1, 2, 4)), ("bn", torch.nn.BatchNorm2d(2)), ("relu", torch.nn.ReLU()),
            ("flatten", torch.nn.Flatten()), ("fc", torch.nn.Linear(2, o))), new Qat.MLNet.Inference.ActivationShape(1, 4, 4), "1x1 conv net");
        var model = Binary(o => { o.Network = cnn; o.NumberOfFloatEpochs = 1; o.ValidationFraction = 0; }).Fit(Ml.Data.LoadFromEnumerable(rows));
        Assert.IsTrue(model.TrainingReport!.Epochs.All(e => double.IsFinite(e.Training.Loss)));
    }

    private sealed class ImageRow
    {
        [Microsoft.ML.Data.VectorType(16)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    [TestMethod]
    public void QConfigTheEngineCannotRun_IsRefusedWhenTheTrainerIsCreated()
    {
        var qint8Activations = new Qat.MLNet.Quantization.QConfig(
            Qat.MLNet.Quantization.FakeQuantize.WithArgs(quantMin: -128, quantMax: 127, dtype: Qat.MLNet.Quantization.QuantDType.QInt8, qscheme: Qat.MLNet.Quantization.QScheme.PerTensorAffine),
            Qat.MLNet.Quantization.QConfig.DefaultWeightFakeQuant);
        Throws<ArgumentException>(() => Binary(o => o.QConfig = qint8Activations), "activations are qint8 per_tensor_affine", "per-tensor quint8");
        var affineWeights = new Qat.MLNet.Quantization.QConfig(
            Qat.MLNet.Quantization.QConfig.DefaultFakeQuant,
            Qat.MLNet.Quantization.FakeQuantize.WithArgs(quantMin: -128, quantMax: 127, dtype: Qat.MLNet.Quantization.QuantDType.QInt8, qscheme: Qat.MLNet.Quantization.QScheme.PerTensorAffine));
        Throws<ArgumentException>(() => Binary(o => o.QConfig = affineWeights), "weights are qint8 per_tensor_affine", "symmetric qint8");
    }

    [TestMethod]
    public void Fit_LayersTheEngineCannotFold_AreRefusedBeforeTraining()
    {
        var data = Ml.Data.LoadFromEnumerable(Enumerable.Range(0, 30).Select(i => new ImageRow { Features = new float[16], Label = i % 2 == 0 }).ToList());
        var shape = new Qat.MLNet.Inference.ActivationShape(1, 4, 4);
        var reflect = QatNetwork.Custom((_, o) => torch.nn.Sequential(("conv", torch.nn.Conv2d(1, 2, 3, padding: 1, padding_mode: TorchSharp.PaddingModes.Reflect)),
            ("flatten", torch.nn.Flatten()), ("fc", torch.nn.Linear(32, o))), shape);
        Throws<NotSupportedException>(() => Binary(o => o.Network = reflect).Fit(data), "net.conv", "padding_mode Reflect", "zeros only");
        var noAffine = QatNetwork.Custom((_, o) => torch.nn.Sequential(("conv", torch.nn.Conv2d(1, 2, 3, padding: 1)), ("bn", torch.nn.BatchNorm2d(2, affine: false)),
            ("flatten", torch.nn.Flatten()), ("fc", torch.nn.Linear(32, o))), shape);
        Throws<NotSupportedException>(() => Binary(o => o.Network = noAffine).Fit(data), "net.bn", "affine: false");
    }

    [TestMethod]
    public void Fit_HugeUnscaledFeatures_AreRefusedSayingHowToFix()
    {
        var rows = SyntheticData.Binary(60, seed: 1).Select(r => new BinaryRow { Features = r.Features.Select(v => v * 1e30f).ToArray(), Label = r.Label }).ToList();
        var data = Ml.Data.LoadFromEnumerable(rows);
        Throws<InvalidOperationException>(() => Binary(o => o.FeatureScaling = QatFeatureScaling.None).Fit(data), "values up to", "NormalizeMinMax", "FeatureScaling = Standardize");
        // Standardized (the default for vector networks), the same data trains as the data in ordinary units does.
        void Configure(QatBinaryTrainer.Options o)
        {
            o.NumberOfFloatEpochs = 30;
            o.LearningRate = 0.01;
            o.ValidationFraction = 0;
        }
        var huge = Binary(Configure).Fit(data).TrainingReport!;
        var ordinary = Binary(Configure).Fit(Ml.Data.LoadFromEnumerable(SyntheticData.Binary(60, seed: 1))).TrainingReport!;
        Assert.IsGreaterThan(0.8, ordinary.Int8.Accuracy!.Value, ordinary.ToString());
        Assert.AreEqual(ordinary.Int8.Accuracy!.Value, huge.Int8.Accuracy!.Value, 0.05, huge.ToString());
    }

    [TestMethod]
    public void Fit_BatchSizeFarAboveTheRowCount_AllocatesForTheRows()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(40, seed: 2));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var model = Binary(o => { o.BatchSize = int.MaxValue; o.ValidationFraction = 0; }).Fit(data);
        Assert.IsNotNull(model.TrainingReport);
        Assert.AreEqual(40, model.TrainingReport.TrainingRows);
        Assert.IsLessThan(256L << 20, GC.GetTotalAllocatedBytes(precise: true) - before, "managed allocations for 40 rows");
    }

    [TestMethod]
    public void Options_InvalidValues_AreRefusedWhenTheTrainerIsCreated()
    {
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.BatchSize = 0), "BatchSize (0) must be positive");
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.LearningRate = -1), "LearningRate (-1)");
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.NumberOfEpochs = 0), "NumberOfEpochs (0)", "at least one QAT epoch");
        Throws<ArgumentOutOfRangeException>(() => Binary(o => o.FreezeObserversAfterEpoch = 0), "before they have seen any data");
        Throws<ArgumentException>(() => Binary(o => o.Momentum = 0.5), "Momentum (0.5) only applies to SGD");
        Throws<ArgumentException>(() => Binary(o => o.FeatureColumnName = "Label"), "must differ");
        Throws<ArgumentOutOfRangeException>(() => QatNetwork.Mlp(16, 0), "hiddenSizes[1] (0) must be positive");
    }

    [TestMethod]
    public void Transform_WrongSizeFeatures_AndNonFiniteOnesWhenAskedToThrow_AreRefusedWithTheRow()
    {
        var model = TrainedBinary();
        var wide = Ml.Data.LoadFromEnumerable(new[] { new WideRow { Features = new float[9] } });
        Throws<ArgumentOutOfRangeException>(() => model.Transform(wide), "trained on Vector<Single, 8>", "Vector<Single, 9>");
        Throws<ArgumentOutOfRangeException>(() => model.GetOutputSchema(wide.Schema), "trained on Vector<Single, 8>");
        var noFeatures = Ml.Data.LoadFromEnumerable(new[] { new { Pixels = 1f } });
        Throws<ArgumentOutOfRangeException>(() => model.Transform(noFeatures), "Feature column 'Features' not found", "Pixels (Single)");

        // The default scores such a row NaN (ScoringAtScaleTests); ThrowOnNonFiniteFeatures refuses it, naming it.
        var strict = Ml.BinaryClassification.Trainers.Qat(new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(8), NumberOfFloatEpochs = 1, NumberOfEpochs = 1, ThrowOnNonFiniteFeatures = true })
            .Fit(Ml.Data.LoadFromEnumerable(SyntheticData.Binary(100, seed: 1)));
        Assert.IsTrue(strict.ThrowOnNonFiniteFeatures);
        var rows = SyntheticData.Binary(5, seed: 1);
        rows[2].Features[1] = float.NegativeInfinity;
        var scored = strict.Transform(Ml.Data.LoadFromEnumerable(rows));
        Throws<InvalidOperationException>(() => scored.GetColumn<float>("Score").ToArray(), "Row 2", "slot 1", "-Infinity");
        var engine = Ml.Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(strict);
        Throws<InvalidOperationException>(() => engine.Predict(rows[2]), "slot 1");
    }

    [TestMethod]
    public void Fit_LeavesTheCallersOptionsAndModuleUntouched()
    {
        var shared = torch.nn.Sequential(("fc", torch.nn.Linear(SyntheticData.FeatureCount, 1)));
        var before = shared.parameters().Select(p => p.data<float>().ToArray()).ToArray();
        var options = new QatBinaryTrainer.Options { Network = QatNetwork.Custom((_, _) => shared), NumberOfFloatEpochs = 1, NumberOfEpochs = 1 };
        var trainer = Ml.BinaryClassification.Trainers.Qat(options);
        options.BatchSize = -5; // changed after the trainer was made: the trainer keeps its copy

        trainer.Fit(Ml.Data.LoadFromEnumerable(SyntheticData.Binary(64, seed: 1)));

        Assert.IsNull(options.Seed);
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(shared.named_children().Single().module);
        var after = shared.parameters().Select(p => p.data<float>().ToArray()).ToArray();
        for (int i = 0; i < before.Length; i++)
            CollectionAssert.AreEqual(before[i], after[i], "the caller's module was trained in place");
    }

    [TestMethod]
    public void Fit_ReleasesEveryTensorItMade()
    {
        var data = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(100, seed: 1));
        var options = new QatBinaryTrainer.Options { Network = QatNetwork.Mlp(4), NumberOfFloatEpochs = 1, NumberOfEpochs = 2, Optimizer = QatOptimizer.Sgd, Seed = 1 };
        Ml.BinaryClassification.Trainers.Qat(options).Fit(data); // warm-up: one-time TorchSharp allocations
        DisposeScopeManager.Statistics.Reset();

        Ml.BinaryClassification.Trainers.Qat(options).Fit(data);
        options.Optimizer = QatOptimizer.Adam;
        options.Momentum = QatDefaults.Momentum;
        Ml.BinaryClassification.Trainers.Qat(options).Fit(data);

        var st = DisposeScopeManager.Statistics;
        Assert.AreEqual(0, st.ThreadTotalLiveCount, $"tensors left alive by Fit: created outside {st.CreatedOutsideScopeCount} disposed outside {st.DisposedOutsideScopeCount} created in {st.CreatedInScopeCount} disposed in {st.DisposedInScopeCount} attached {st.AttachedToScopeCount} detached {st.DetachedFromScopeCount}");
    }

    [TestMethod]
    public void Load_CorruptModelFile_FailsWithAClearError()
    {
        var model = TrainedBinary();
        string dir = QatMulticlassTrainerTests.TempDirectory();
        string path = Path.Combine(dir, "model.zip");
        Ml.Model.Save(model, null, path);
        string corrupt = Path.Combine(dir, "corrupt.zip");
        File.Copy(path, corrupt);
        using (var zip = System.IO.Compression.ZipFile.Open(corrupt, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.FullName.EndsWith("QuantizedModel.bin", StringComparison.Ordinal));
            byte[] bytes;
            using (var s = entry.Open()) { using var m = new MemoryStream(); s.CopyTo(m); bytes = m.ToArray(); }
            bytes[^10] ^= 0xFF;
            entry.Delete();
            using var w = zip.CreateEntry(entry.FullName).Open();
            w.Write(bytes);
        }

        var e = Assert.Throws<Exception>(() => Ml.Model.Load(corrupt, out _));
        var inner = e;
        while (inner is not InvalidDataException && inner.InnerException is { } next)
            inner = next;
        Assert.IsInstanceOfType<InvalidDataException>(inner, e.ToString());
        Assert.Contains("checksum does not match", inner.Message);
        // The intact file still loads and scores exactly as the model it was saved from.
        Assert.IsTrue(File.Exists(path));
        var intact = Ml.Model.Load(path, out _);
        var rows = Ml.Data.LoadFromEnumerable(SyntheticData.Binary(40, seed: 5));
        CollectionAssert.AreEqual(
            model.Transform(rows).GetColumn<float>("Score").ToArray(),
            intact.Transform(rows).GetColumn<float>("Score").ToArray());
    }
}
