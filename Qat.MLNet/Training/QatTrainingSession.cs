using System.Diagnostics;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Internal;
using Qat.MLNet.Modules;
using Qat.MLNet.Optim;
using Qat.MLNet.Reports;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// One run of a Qat trainer: float epochs, fusion and PrepareQat, QAT epochs with the freeze schedule, Convert, and the
/// float / fake-quant / int8 comparison. Owns every tensor and module it makes and releases them when done.
/// </summary>
internal sealed class QatTrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _channel;
    private readonly QatTrainerOptions _options;
    private readonly TrainingTask _task;
    private readonly ActivationShape _shape;
    private readonly BatchReader _train;
    private readonly BatchReader _trainForEvaluation;
    private readonly BatchReader? _validation;
    private readonly int _seed;

    public QatTrainingSession(IHost host, IChannel channel, QatTrainerOptions options, TrainingTask task, TrainingData data, int seed)
    {
        _host = host;
        _channel = channel;
        _options = options;
        _task = task;
        _seed = seed;
        _shape = options.Network.InputShape(data.FeatureCount, data.Feature.Name);
        _train = new BatchReader(options.Shuffle ? data.Shuffled(host, seed) : data.Data, data.Feature, data.Label, task, options.BatchSize, data.FeatureCount);
        _trainForEvaluation = new BatchReader(data.Data, data.Feature, data.Label, task, options.BatchSize, data.FeatureCount);
        if (data.Validation is { } v)
            _validation = new BatchReader(v.Data, v.Feature, v.Label, task, options.BatchSize, data.FeatureCount);
        TrainingRows = data.RowCount;
    }

    public long TrainingRows { get; }

    /// <summary>Trains, converts and measures; returns the int8 model and the report.</summary>
    public (QuantizedModel Model, QatTrainingReport Report) Run()
    {
        var clock = Stopwatch.StartNew();
        var (qconfig, qconfigName) = _options.ResolveQConfig();
        int totalEpochs = _options.NumberOfFloatEpochs + _options.NumberOfEpochs;
        var epochs = new List<QatEpochReport>();
        torch.manual_seed(_seed);
        var random = new Random(_seed);

        using var scope = NewDisposeScope();
        nn.Module<Tensor, Tensor> model = _options.Network.Build(_shape, _task.OutputCount);
        DropBatchCounters(model);
        model.train();
        ParameterUpdater? optimizer = null;
        var input = zeros(_options.BatchSize, _shape.Size);
        var labels = zeros(_options.BatchSize);
        try
        {
            if (_options.NumberOfFloatEpochs == 0)
                model = PrepareQat(model, qconfig);
            optimizer = CreateOptimizer(model);
            for (int epoch = 0; epoch < totalEpochs; epoch++)
            {
                var phase = epoch < _options.NumberOfFloatEpochs ? QatTrainingPhase.Float : QatTrainingPhase.QuantizationAware;
                if (epoch == _options.NumberOfFloatEpochs && epoch > 0)
                {
                    model.train(); // the validation pass left it in eval mode
                    model = PrepareQat(model, qconfig);
                    optimizer.Dispose();
                    optimizer = CreateOptimizer(model);
                }
                int qatEpoch = epoch - _options.NumberOfFloatEpochs;
                bool observersFrozen = phase == QatTrainingPhase.QuantizationAware && qatEpoch >= _options.FreezeObserversAfterEpoch;
                bool batchNormFrozen = phase == QatTrainingPhase.QuantizationAware && qatEpoch >= _options.FreezeBatchNormAfterEpoch;
                if (observersFrozen)
                    Quantizer.DisableObserver(model);
                if (batchNormFrozen)
                    Quantizer.FreezeBatchNormStats(model);

                double learningRate = _options.LearningRateAt(epoch, totalEpochs);
                optimizer.LearningRate = learningRate;

                var started = Stopwatch.StartNew();
                var training = TrainEpoch(model, optimizer, input, labels, _options.Shuffle ? new Random(random.Next()) : null);
                var validation = _validation is null ? null : Evaluate(model, _validation, input);
                var report = new QatEpochReport(epoch + 1, phase, learningRate, observersFrozen, batchNormFrozen, training, validation, started.Elapsed.TotalSeconds);
                epochs.Add(report);
                _channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat epoch {epoch + 1}/{totalEpochs} ({(phase == QatTrainingPhase.Float ? "float" : "QAT")}{(observersFrozen ? ", observers frozen" : "")}{(batchNormFrozen ? ", BN frozen" : "")}, lr {learningRate:G4}): ") +
                    FormattableString.Invariant($"train {training}{(validation is null ? "" : $"; validation {validation}")}; {report.Seconds:F1} s"));
            }

            model.eval();
            _channel.Info(MessageSensitivity.None, "Qat: converting to int8.");
            var quantized = Quantizer.Convert(model, _shape);
            var evaluation = _validation ?? _trainForEvaluation;
            Quantizer.DisableFakeQuant(model);
            var floatMetrics = Evaluate(model, evaluation, input);
            Quantizer.EnableFakeQuant(model);
            var fakeQuantMetrics = Evaluate(model, evaluation, input);
            var int8Metrics = Evaluate(quantized, evaluation);
            long floatBytes = model.parameters().Sum(p => p.numel()) * sizeof(float);
            Quantizer.DisableFakeQuant(model);
            var (floatLatency, int8Latency) = MeasureLatency(model, quantized, evaluation, input);
            var result = new QatTrainingReport
            {
                Task = _task.Name,
                Network = _options.Network.Description,
                QConfig = qconfigName,
                TrainingRows = TrainingRows,
                Epochs = epochs,
                EvaluatedOn = _validation is null ? "training data" : "validation set",
                Float = floatMetrics,
                FakeQuantized = fakeQuantMetrics,
                Int8 = int8Metrics,
                FloatModelBytes = floatBytes,
                Int8ModelBytes = quantized.ParameterBytes,
                FloatMicrosecondsPerRow = floatLatency,
                Int8MicrosecondsPerRow = int8Latency,
                TotalSeconds = clock.Elapsed.TotalSeconds,
            };
            _channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat done on the {result.EvaluatedOn}: float {floatMetrics}; fake-quant {fakeQuantMetrics}; int8 {int8Metrics}; ") +
                FormattableString.Invariant($"parameters {floatBytes} -> {quantized.ParameterBytes} bytes; {result.TotalSeconds:F1} s."));
            return (quantized, result);
        }
        finally
        {
            optimizer?.Dispose();
            model.Dispose();
        }
    }

    private static nn.Module<Tensor, Tensor> PrepareQat(nn.Module<Tensor, Tensor> model, Quantization.QConfig qconfig) =>
        Quantizer.PrepareQat(Quantizer.FuseModules(model, inplace: true), qconfig, inplace: true);

    // Our own SGD/Adam: TorchSharp's optimizers can crash under concurrent garbage collection (see ParameterUpdater).
    private ParameterUpdater CreateOptimizer(nn.Module<Tensor, Tensor> model) => _options.Optimizer switch
    {
        QatOptimizer.Sgd => new SgdUpdater(model.parameters(), _options.LearningRate, _options.Momentum, _options.WeightDecay),
        _ => new AdamUpdater(model.parameters(), _options.LearningRate, _options.WeightDecay),
    };

    /// <summary>
    /// Removes the batch norms' <c>num_batches_tracked</c> counters of the trainer's own network: TorchSharp's
    /// <c>BatchNorm.forward</c> increments it with implicit Scalars that concurrent garbage collection can free mid-call
    /// (see ParameterUpdater). With a fixed momentum (NetworkCheck requires one) the counter is not used for anything else.
    /// </summary>
    private static void DropBatchCounters(nn.Module<Tensor, Tensor> model)
    {
        foreach (var (_, module) in model.named_modules())
        {
            if (module is BatchNorm2d { num_batches_tracked: { } counter } bn)
            {
                bn.num_batches_tracked = null;
                counter.Dispose();
            }
        }
    }

    private QatMetrics TrainEpoch(nn.Module<Tensor, Tensor> model, ParameterUpdater optimizer, Tensor input, Tensor labels, Random? shuffle)
    {
        model.train();
        var sums = new MetricsAccumulator();
        foreach (int n in _train.Batches(shuffle, _host.CheckAlive))
        {
            using var step = NewDisposeScope();
            var (x, y) = Load(_train, n, input, labels);
            optimizer.ZeroGrad();
            var outputs = model.call(x);
            var loss = _task.Loss(outputs, y!);
            loss.backward();
            optimizer.Step();
            Accumulate(outputs, _train, n, ref sums);
        }
        return sums.ToMetrics(_task.HasAccuracy);
    }

    private QatMetrics Evaluate(nn.Module<Tensor, Tensor> model, BatchReader data, Tensor input)
    {
        model.eval();
        var sums = new MetricsAccumulator();
        using var noGrad = no_grad();
        foreach (int n in data.Batches(null, _host.CheckAlive))
        {
            using var step = NewDisposeScope();
            var (x, _) = Load(data, n, input, null);
            Accumulate(model.call(x), data, n, ref sums);
        }
        return sums.ToMetrics(_task.HasAccuracy);
    }

    private QatMetrics Evaluate(QuantizedModel model, BatchReader data)
    {
        var sums = new MetricsAccumulator();
        var outputs = new float[data.BatchSize * model.OutputSize];
        foreach (int n in data.Batches(null, _host.CheckAlive))
        {
            model.Predict(data.Features.AsSpan(0, n * model.InputSize), outputs.AsSpan(0, n * model.OutputSize), n);
            for (int i = 0; i < n; i++)
                _task.Accumulate(outputs.AsSpan(i * model.OutputSize, model.OutputSize), data.Labels[i], ref sums);
        }
        return sums.ToMetrics(_task.HasAccuracy);
    }

    /// <summary>
    /// Microseconds per row at batch 1 of the TorchSharp network and of the int8 model: passes over up to 64 rows, the
    /// best pass after a warm-up of at least 200 ms per model (so .NET's tiered JIT has optimised the int8 kernels).
    /// </summary>
    private unsafe (double Float, double Int8) MeasureLatency(nn.Module<Tensor, Tensor> model, QuantizedModel quantized, BatchReader data, Tensor input)
    {
        int rows = 0;
        foreach (int n in data.Batches())
        {
            rows = Math.Min(n, 64);
            break;
        }
        var features = data.Features.AsSpan(0, rows * _shape.Size).ToArray();
        var outputs = new float[quantized.OutputSize];
        model.eval();
        using var noGrad = no_grad();

        void FloatPass()
        {
            for (int r = 0; r < rows; r++)
            {
                using var step = NewDisposeScope();
                features.AsSpan(r * _shape.Size, _shape.Size).CopyTo(new Span<float>(TensorMemory.Pointer(input), _shape.Size));
                var one = input.narrow(0, 0, 1);
                model.call(_options.Network.ReadsImages ? one.view(1, _shape.Channels, _shape.Height, _shape.Width) : one);
            }
        }

        void Int8Pass()
        {
            for (int r = 0; r < rows; r++)
                quantized.Predict(features.AsSpan(r * _shape.Size, _shape.Size), outputs, 1);
        }

        return (BestMicrosecondsPerRow(FloatPass, rows), BestMicrosecondsPerRow(Int8Pass, rows));
    }

    private static double BestMicrosecondsPerRow(Action pass, int rows)
    {
        var warmUp = Stopwatch.StartNew();
        while (warmUp.ElapsedMilliseconds < 200)
            pass();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            pass();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMicroseconds / Math.Max(rows, 1));
        }
        return best;
    }

    /// <summary>Copies the reader's batch into the reused input (and label) tensors; returns views of the first n rows.</summary>
    private unsafe (Tensor X, Tensor? Y) Load(BatchReader data, int n, Tensor input, Tensor? labels)
    {
        data.Features.AsSpan(0, n * _shape.Size).CopyTo(new Span<float>(TensorMemory.Pointer(input), n * _shape.Size));
        var rows = input.narrow(0, 0, n);
        var x = _options.Network.ReadsImages ? rows.view(n, _shape.Channels, _shape.Height, _shape.Width) : rows;
        if (labels is null)
            return (x, null);
        data.Labels.AsSpan(0, n).CopyTo(new Span<float>(TensorMemory.Pointer(labels), n));
        return (x, labels.narrow(0, 0, n));
    }

    private unsafe void Accumulate(Tensor outputs, BatchReader data, int n, ref MetricsAccumulator sums)
    {
        int width = _task.OutputCount;
        using var values = outputs.detach().contiguous();
        var all = new ReadOnlySpan<float>(TensorMemory.Pointer(values), n * width);
        for (int i = 0; i < n; i++)
            _task.Accumulate(all.Slice(i * width, width), data.Labels[i], ref sums);
    }
}
