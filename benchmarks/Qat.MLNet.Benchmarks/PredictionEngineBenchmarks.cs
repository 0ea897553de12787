using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Inference;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// What ML.NET's PredictionEngine adds to one int8 prediction: the bare engine call on a row (baseline), the same row
/// through <c>CreatePredictionEngine</c> over the Qat transformer (reusing the output object, and with a new one per
/// call), and ML.NET's own floor, a PredictionEngine over a CopyColumns transformer. Goal: PredictionEngine at most
/// 1 us above the bare call. Models trained by the Qat trainer on 2,000 shipped Fashion-MNIST images (1 float + 1 QAT epoch).
/// </summary>
public class PredictionEngineBenchmarks
{
    /// <summary>One image.</summary>
    public sealed class ImageRow
    {
        /// <summary>784 pixels in [0, 1].</summary>
        [VectorType(784)]
        public float[] Features { get; set; } = Array.Empty<float>();

        /// <summary>Class index as text.</summary>
        public string Label { get; set; } = "";
    }

    /// <summary>The Qat transformer's outputs.</summary>
    public sealed class Prediction
    {
        /// <summary>Class probabilities.</summary>
        public float[] Score { get; set; } = Array.Empty<float>();

        /// <summary>Predicted key.</summary>
        public uint PredictedLabel { get; set; }
    }

    /// <summary>CopyColumns' output.</summary>
    public sealed class Copied
    {
        /// <summary>The copied features.</summary>
        [VectorType(784)]
        public float[] Copy { get; set; } = Array.Empty<float>();
    }

    private QuantizedModel _model = null!;
    private ImageRow _row = null!;
    private float[] _output = null!;
    private PredictionEngine<ImageRow, Prediction> _engine = null!;
    private PredictionEngine<ImageRow, Copied> _floor = null!;
    private Prediction _prediction = new();
    private Copied _copied = new();

    /// <summary>The network: the MLP 784-256-128-10 or the CNN of torch_qat_fmnist.py.</summary>
    [Params("mlp", "cnn")]
    public string Model { get; set; } = "mlp";

    /// <summary>Trains the model with the Qat trainer and builds the engines.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(seed: 1);
        var (pixels, labels) = FashionMnist.LoadRaw(FashionMnist.ShippedDirectory(), train: false);
        var rows = Enumerable.Range(0, 2000).Select(i => new ImageRow
        {
            Features = FashionMnist.Features(pixels, i),
            Label = labels[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var network = Model == "cnn" ? QatNetwork.Cnn(new ActivationShape(1, 28, 28)) : QatNetwork.Mlp(256, 128);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
            {
                Network = network, NumberOfFloatEpochs = 1, NumberOfEpochs = 1, NumberOfThreads = 1, Seed = 1,
            }))
            .Fit(data);
        _model = model.LastTransformer.Model;
        _row = rows[17];
        _output = new float[_model.OutputSize];
        // The engine over the Qat transformer alone (the label mapping is a training-time step).
        _engine = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(model.LastTransformer);
        _floor = ml.Model.CreatePredictionEngine<ImageRow, Copied>(ml.Transforms.CopyColumns("Copy", "Features").Fit(data));
        _engine.Predict(_row, ref _prediction);
        _model.Predict(_row.Features, _output, 1);
        if (!_output.Select((v, i) => (v, i)).MaxBy(p => p.v).i.Equals((int)_prediction.PredictedLabel - 1))
            throw new InvalidOperationException("The engine and the PredictionEngine disagree.");
    }

    /// <summary>The bare int8 engine on the row's features.</summary>
    [Benchmark(Baseline = true)]
    public void Int8Engine() => _model.Predict(_row.Features, _output, 1);

    /// <summary>PredictionEngine over the Qat transformer, output object reused (a serving loop).</summary>
    [Benchmark]
    public void PredictionEngine() => _engine.Predict(_row, ref _prediction);

    /// <summary>PredictionEngine over the Qat transformer, a new output object per call (the simple API).</summary>
    [Benchmark]
    public Prediction PredictionEngineNewOutput() => _engine.Predict(_row);

    /// <summary>ML.NET's floor: a PredictionEngine over CopyColumns of the same 784 floats.</summary>
    [Benchmark]
    public void MlNetFloorCopyColumns() => _floor.Predict(_row, ref _copied);
}
