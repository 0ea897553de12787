using System.Diagnostics;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Internal;
using Qat.MLNet.Modules;
using Qat.MLNet.Optim;
using Qat.MLNet.Quantization;
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
    private readonly TrainingData _data;
    private readonly int _seed;
    private readonly QatNetwork _network;
    private readonly int _shufflePool;

    public QatTrainingSession(IHost host, IChannel channel, QatTrainerOptions options, TrainingTask task, TrainingData data, int seed)
    {
        _host = host;
        _channel = channel;
        _options = options;
        _task = task;
        _data = data;
        _seed = seed;
        _shape = options.Network.InputShape(data.FeatureCount, data.Feature.Name);
        _network = data.Encoding is { } encoding ? options.Network.WithEncoding(encoding) : options.Network;
        // Batch buffers no larger than the data: a batch size above the row count allocates for the rows.
        int batch = (int)Math.Min(options.BatchSize, Math.Max(1, data.RowCount));
        // The shuffle pool (data that cannot shuffle itself) is no larger than the data either.
        int pool = (int)Math.Min(BatchReader.ShufflePool(data.Data, data.FeatureCount), data.RowCount);
        _shufflePool = pool;
        _train = new BatchReader(data.Data, data.Feature, data.Label, task, batch, data.FeatureCount, data.TrainingRows, data.Standardization,
            shufflePool: options.Shuffle ? pool : 0);
        _trainForEvaluation = new BatchReader(data.Data, data.Feature, data.Label, task, batch, data.FeatureCount, data.TrainingRows, data.Standardization);
        if (data.Validation is { } v)
            _validation = new BatchReader(v.Data, v.Feature, v.Label, task, batch, data.FeatureCount, null, data.Standardization, "validation set");
        else if (data.HeldOutRows is { } heldOut)
            _validation = new BatchReader(data.Data, data.Feature, data.Label, task, batch, data.FeatureCount, heldOut, data.Standardization, "held-out rows");
        TrainingRows = data.RowCount;
    }

    public long TrainingRows { get; }

    /// <summary>Held while TorchSharp's process-wide generator is seeded and drawn from (initialisation, dropout masks).</summary>
    internal static readonly object RandomLock = new();

    /// <summary>Training steps whose forward pass drew dropout masks, for the per-step seeds.</summary>
    private long _randomSteps;

    /// <summary>One phase's plan: how many epochs, whether they were chosen from the data (then early stopping applies), why.</summary>
    private sealed record PhasePlan(QatTrainingPhase Phase, int Epochs, bool Adaptive, string Why);

    /// <summary>Trains, converts and measures; returns the int8 model and the report.</summary>
    public (QuantizedModel Model, QatTrainingReport Report) Run()
    {
        using var scope = NewDisposeScope();
        return Finish(Train());
    }

    /// <summary>
    /// The float and QAT phases (with early stopping and best-state restore) on this session's rows: the trained,
    /// fake-quantized network, which the caller passes to <see cref="Finish"/> or disposes. Call inside a dispose scope.
    /// </summary>
    public TrainedNetwork Train()
    {
        var clock = Stopwatch.StartNew();
        var (qconfig, _) = _options.ResolveQConfig();
        var floatPlan = Plan(QatTrainingPhase.Float, _options.NumberOfFloatEpochs, _options.FloatOptimizerSteps);
        var qatPlan = Plan(QatTrainingPhase.QuantizationAware, _options.NumberOfEpochs, _options.QatOptimizerSteps);
        int plannedEpochs = floatPlan.Epochs + qatPlan.Epochs;
        var epochs = new List<QatEpochReport>();
        var phases = new List<string>();
        var random = new Random(_seed);

        nn.Module<Tensor, Tensor> model;
        // TorchSharp's generator is process-wide and weight initialisation draws from it: seeding and building under one
        // lock makes a seed give the same initial weights whatever other Fits run beside this one. (The data order comes
        // from seeded System.Random and ML.NET; the built-in networks draw nothing else; a custom network's dropout is
        // seeded per step under the same lock, see TrainEpoch.)
        lock (RandomLock)
        {
            torch.manual_seed(_seed);
            model = _network.Build(_shape, _task.OutputCount);
        }
        DropBatchCounters(model);
        model.train();
        ParameterUpdater? optimizer = null;
        try
        {
            var keepFloat = ConversionPlan.Resolve(model, _options.KeepFloatLayers); // checked before the first step
            int? keptFloat = null, keptQat = null;
            if (floatPlan.Epochs > 0)
            {
                optimizer = CreateOptimizer(model);
                keptFloat = RunPhase(floatPlan, model, optimizer, random, epochs, phases, plannedEpochs, clock, _options.MaximumTrainingTimeInSeconds * 2 / 3);
                optimizer.Dispose();
                model.train(); // the validation pass left it in eval mode
            }
            model = PrepareQat(model, qconfig, keepFloat);
            optimizer = CreateOptimizer(model);
            keptQat = RunPhase(qatPlan, model, optimizer, random, epochs, phases, plannedEpochs, clock, _options.MaximumTrainingTimeInSeconds);
            return new TrainedNetwork(model, epochs, phases, keptFloat, keptQat, clock.Elapsed.TotalSeconds);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            optimizer?.Dispose();
        }
    }

    /// <summary>
    /// Makes <paramref name="floatModel"/> (the float network as <see cref="QatNetwork.Build"/> wraps it, already trained:
    /// an ensemble's members merged into one) ready to convert without training it: PrepareQat, then the training rows
    /// through it with the observers on and no optimizer step, in chunks as large as memory allows (one for small data;
    /// else shuffled passes, as many as the observers' averaging needs: <see cref="CalibrationLength"/>), so every scale and
    /// zero point is observed on this network's own activations; then the observers are frozen.
    /// </summary>
    public TrainedNetwork Calibrate(nn.Module<Tensor, Tensor> floatModel, IReadOnlyList<QatEpochReport> epochs, IReadOnlyList<string> phases, double secondsSoFar)
    {
        var clock = Stopwatch.StartNew();
        var (qconfig, _) = _options.ResolveQConfig();
        var model = PrepareQat(floatModel, qconfig, ConversionPlan.Resolve(floatModel, _options.KeepFloatLayers));
        try
        {
            model.train();
            // Chunks as large as memory allows (all the rows of an ensemble's small data in one): an observer's range is then
            // every row's, not a moving average of 64-row batches' extremes, which a network that never trained with
            // fake quantization, as the merged one, pays for in clipped values.
            int chunk = CalibrationLength.ChunkRows(_data.RowCount, _shape.Size, _train.BatchSize);
            var reader = new BatchReader(_data.Data, _data.Feature, null, _task, chunk, _data.FeatureCount, _data.TrainingRows, _data.Standardization,
                shufflePool: _options.Shuffle ? _shufflePool : 0);
            using var input = zeros(chunk, _shape.Size);
            long rows = 0, batches = 0;
            int passes = 0;
            // One pass when it is one chunk; else shuffled passes (rows stored in an order would bias a moving average)
            // until the moving averages have forgotten their first chunk.
            int needed = _data.RowCount > chunk ? CalibrationLength.Chunks(model) : 0;
            var shuffle = _options.Shuffle && needed > 0 ? new Random(_seed) : null;
            using (no_grad())
            {
                do
                {
                    foreach (int n in reader.Batches(shuffle, _host.CheckAlive))
                    {
                        using var step = NewDisposeScope();
                        var (x, _) = Load(reader, n, input, null);
                        model.call(x);
                        rows += n;
                        batches++;
                    }
                    passes++;
                }
                while (batches < needed && batches > 0);
            }
            Quantizer.DisableObserver(model);
            var all = phases.ToList();
            all.Add(FormattableString.Invariant($"calibration: the observers saw the {rows / passes} training rows {(passes == 1 ? "once" : $"{passes} times")} in {(batches == 1 ? "one batch" : $"{batches} {(shuffle is null ? "" : "shuffled ")}batches of up to {chunk} rows")}, then froze (no training step)"));
            _channel.Info(MessageSensitivity.None, "Qat " + all[^1] + ".");
            return new TrainedNetwork(model, epochs, all, null, null, secondsSoFar + clock.Elapsed.TotalSeconds);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Converts the trained network to int8 and measures float, fake-quant and int8 on the evaluation data (the validation
    /// data, else the training rows); disposes the network. Call inside a dispose scope.
    /// </summary>
    public (QuantizedModel Model, QatTrainingReport Report) Finish(TrainedNetwork trained, int ensembleSize = 1)
    {
        var clock = Stopwatch.StartNew();
        var (_, qconfigName) = _options.ResolveQConfig();
        var model = trained.Model;
        var input = Input;
        try
        {
            model.eval();
            var evaluation = _validation ?? _trainForEvaluation;
            var analysisClock = Stopwatch.StartNew();
            var analysis = ConversionPlan.Analyze(model, _shape, _options, _task, evaluation, _host.CheckAlive, _channel);
            double analysisSeconds = analysis is null ? 0 : analysisClock.Elapsed.TotalSeconds;
            if (analysis is not null)
                _channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat: per-layer analysis of {analysis.Layers.Count} layers on {analysis.SampleCount} rows in {analysisSeconds:F2} s."));
            var suggested = analysis?.SuggestedFloatLayers ?? [];
            _channel.Info(MessageSensitivity.None, suggested.Count == 0 ? "Qat: converting to int8." : $"Qat: converting to int8, keeping {string.Join(", ", suggested)} in float.");
            // The analysis converted the model already (with its suggestion): the same layers, not converted a second time.
            var converted = analysis?.Model ?? Quantizer.Convert(model, _shape, suggested);
            var quantized = _data.Standardization is { } standardization
                ? new QuantizedModel(converted.InputShape, converted.Input, converted.Layers, converted.Output, standardization)
                : converted;
            Quantizer.DisableFakeQuant(model);
            var floatMetrics = Evaluate(model, evaluation, input);
            Quantizer.EnableFakeQuant(model);
            var fakeQuantMetrics = Evaluate(model, evaluation, input);
            // The readers hand out standardized features already: the converted model without the step is the same arithmetic.
            var int8Metrics = Evaluate(converted, evaluation);
            long floatBytes = model.parameters().Sum(p => p.numel()) * sizeof(float);
            Quantizer.DisableFakeQuant(model);
            var (floatLatency, int8Latency) = MeasureLatency(model, quantized, evaluation, input); // the int8 side includes the standardization step
            var result = new QatTrainingReport
            {
                Task = _task.Name,
                Network = ensembleSize > 1 ? FormattableString.Invariant($"{ensembleSize} x {_network.Description}, merged into one network") : _network.Description,
                EnsembleSize = ensembleSize,
                QConfig = qconfigName,
                TrainingRows = TrainingRows,
                HeldOutRows = _data.HeldOutCount,
                Epochs = trained.Epochs,
                Phases = trained.Phases,
                KeptFloatEpoch = trained.KeptFloatEpoch,
                KeptQatEpoch = trained.KeptQatEpoch,
                EvaluatedOn = _validation is null ? "training data" : _data.ValidationDescription,
                Float = floatMetrics,
                FakeQuantized = fakeQuantMetrics,
                Int8 = int8Metrics,
                FloatModelBytes = floatBytes,
                Int8ModelBytes = quantized.ParameterBytes,
                FloatLayers = converted.Layers.Where(l => l is FloatWeightedLayer).Select(l => l.Name).ToList(),
                FloatLayersReason = FloatLayersReason(analysis),
                Layers = _options.AnalyzeLayers ? analysis?.Layers ?? [] : [],
                AnalysisSeconds = analysisSeconds,
                FloatMicrosecondsPerRow = floatLatency,
                Int8MicrosecondsPerRow = int8Latency,
                TotalSeconds = trained.Seconds + clock.Elapsed.TotalSeconds,
            };
            _channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat done on the {result.EvaluatedOn}: float {floatMetrics}; fake-quant {fakeQuantMetrics}; int8 {int8Metrics}; ") +
                FormattableString.Invariant($"parameters {floatBytes} -> {quantized.ParameterBytes} bytes; {result.TotalSeconds:F1} s."));
            return (quantized, result);
        }
        finally
        {
            model.Dispose();
        }
    }

    /// <summary>The reused input batch tensor (made on first use, owned by the caller's dispose scope).</summary>
    private Tensor Input => _input ??= zeros(_train.BatchSize, _shape.Size);

    /// <summary>The reused label batch tensor.</summary>
    private Tensor Labels => _labels ??= zeros(_train.BatchSize);

    private Tensor? _input;
    private Tensor? _labels;

    /// <summary>Why layers run in float: the options' list, the suggestion, or both; null when none does.</summary>
    private string? FloatLayersReason(Diagnostics.QuantizationAnalysis? analysis)
    {
        var reasons = new List<string>();
        if (_options.KeepFloatLayers is { Count: > 0 } keep)
            reasons.Add($"KeepFloatLayers: {string.Join(", ", keep)}");
        if (analysis is { SuggestedFloatLayers.Count: > 0 } a)
            reasons.Add(FormattableString.Invariant($"MaximumInt8MetricDrop {a.MaximumMetricDrop}: int8 {a.Int8Metric:F4} against float {a.FloatMetric:F4}; with {string.Join(", ", a.SuggestedFloatLayers)} float {a.SuggestedMetric:F4}{(a.MeetsTarget == true ? "" : ", still short of the target")}"));
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    /// <summary>The epochs of a phase: as set, or <c>ceil(steps / steps per epoch)</c> capped at MaximumEpochsPerPhase.</summary>
    private PhasePlan Plan(QatTrainingPhase phase, int? epochs, int steps)
    {
        string name = phase == QatTrainingPhase.Float ? "float" : "QAT";
        if (epochs is { } set)
            return new PhasePlan(phase, set, false, FormattableString.Invariant($"{name}: {set} epochs as set"));
        long stepsPerEpoch = (TrainingRows + _train.BatchSize - 1) / _train.BatchSize;
        int chosen = (int)Math.Clamp((steps + stepsPerEpoch - 1) / stepsPerEpoch, 1, _options.MaximumEpochsPerPhase);
        return new PhasePlan(phase, chosen, true,
            FormattableString.Invariant($"{name}: {chosen} epochs chosen for {steps} optimizer steps ({stepsPerEpoch} per epoch{(chosen == _options.MaximumEpochsPerPhase ? $", capped at {_options.MaximumEpochsPerPhase} epochs" : "")})"));
    }

    /// <summary>
    /// Runs one phase; with an adaptive plan and validation data it stops after EarlyStoppingPatience epochs without a
    /// better validation loss and restores the best epoch's state. Returns the kept epoch (1-based, over both phases) when
    /// it is not the last one run.
    /// </summary>
    private int? RunPhase(PhasePlan plan, nn.Module<Tensor, Tensor> model, ParameterUpdater optimizer, Random random,
        List<QatEpochReport> epochs, List<string> phases, int plannedEpochs, Stopwatch clock, double secondsAllowed)
    {
        bool earlyStopping = plan.Adaptive && _validation is not null && _options.EarlyStoppingPatience is not null;
        int patience = _options.EarlyStoppingPatience ?? int.MaxValue;
        double bestLoss = double.PositiveInfinity;
        int bestEpoch = 0, sinceBest = 0;
        Dictionary<string, Tensor>? best = null;
        string ending = "ran every epoch";
        int first = epochs.Count;
        try
        {
            for (int e = 0; e < plan.Epochs; e++)
            {
                int epoch = epochs.Count;
                bool qat = plan.Phase == QatTrainingPhase.QuantizationAware;
                bool observersFrozen = qat && e >= _options.FreezeObserversAfterEpoch;
                bool batchNormFrozen = qat && e >= _options.FreezeBatchNormAfterEpoch;
                if (observersFrozen)
                {
                    Quantizer.DisableObserver(model);
                    Quantizer.EnableParamLearning(model); // learnable qparams (LSQ) take over from the observers; others are unaffected
                }
                if (batchNormFrozen)
                    Quantizer.FreezeBatchNormStats(model);
                double learningRate = _options.LearningRateAt(epoch, plannedEpochs);
                optimizer.LearningRate = learningRate;

                var started = Stopwatch.StartNew();
                var training = TrainEpoch(model, optimizer, Input, Labels, _options.Shuffle ? new Random(random.Next()) : null);
                var validation = _validation is null ? null : Evaluate(model, _validation, Input);
                var report = new QatEpochReport(epoch + 1, plan.Phase, learningRate, observersFrozen, batchNormFrozen, training, validation, started.Elapsed.TotalSeconds);
                epochs.Add(report);
                _channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat epoch {epoch + 1} ({(qat ? "QAT" : "float")} {e + 1}/{plan.Epochs}{(observersFrozen ? ", observers frozen" : "")}{(batchNormFrozen ? ", BN frozen" : "")}, lr {learningRate:G4}): ") +
                    FormattableString.Invariant($"train {training}{(validation is null ? "" : $"; validation {validation}")}; {report.Seconds:F1} s"));

                if (earlyStopping && validation is not null && double.IsFinite(validation.Loss))
                {
                    if (bestEpoch == 0 || validation.Loss < bestLoss - 1e-6 * Math.Abs(bestLoss))
                    {
                        bestLoss = validation.Loss;
                        bestEpoch = epoch + 1;
                        sinceBest = 0;
                        Snapshot(model, ref best);
                    }
                    else if (++sinceBest >= patience)
                    {
                        ending = FormattableString.Invariant($"stopped after epoch {epoch + 1} (validation loss not better for {patience} epochs)");
                        break;
                    }
                }
                if (e + 1 < plan.Epochs && clock.Elapsed.TotalSeconds > secondsAllowed)
                {
                    ending = FormattableString.Invariant($"stopped after epoch {epoch + 1}: {clock.Elapsed.TotalSeconds:F0} s passed the time allowed ({secondsAllowed:F0} s of MaximumTrainingTimeInSeconds)");
                    break;
                }
            }
            int last = epochs.Count;
            int? kept = null;
            string keptText = "kept the last epoch";
            if (best is not null && bestEpoch != last)
            {
                QuantizationState.LoadStateDict(model, best);
                kept = bestEpoch;
                keptText = FormattableString.Invariant($"kept epoch {bestEpoch} (best validation loss {bestLoss:F4})");
            }
            else if (best is not null)
            {
                keptText = FormattableString.Invariant($"kept the last epoch, {last} (best validation loss {bestLoss:F4})");
            }
            string summary = $"{plan.Why}; {ending}; {keptText}" + (last > first && _validation is null && plan.Adaptive ? "; no validation data, so no early stopping" : "");
            phases.Add(summary);
            _channel.Info(MessageSensitivity.None, "Qat " + summary + ".");
            return kept;
        }
        finally
        {
            if (best is not null)
                foreach (var tensor in best.Values)
                    tensor.Dispose();
        }
    }

    /// <summary>Replaces <paramref name="best"/> with copies of the model's parameters and buffers.</summary>
    private static void Snapshot(nn.Module<Tensor, Tensor> model, ref Dictionary<string, Tensor>? best)
    {
        using var noGrad = no_grad();
        var copy = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in model.state_dict())
            copy[name] = tensor.detach().clone().DetachFromDisposeScope();
        if (best is not null)
            foreach (var tensor in best.Values)
                tensor.Dispose();
        best = copy;
    }

    /// <summary>Fuses, leaves <paramref name="keepFloat"/> unquantized, prepares for QAT; learnable quantizers start from their observers.</summary>
    private static nn.Module<Tensor, Tensor> PrepareQat(nn.Module<Tensor, Tensor> model, QConfig qconfig, IReadOnlyList<nn.Module> keepFloat)
    {
        // Which modules to keep is read before fusion: fusion puts new modules at the same paths.
        var paths = model.named_modules().Where(m => keepFloat.Contains(m.module)).Select(m => m.name).ToList();
        var fused = Quantizer.FuseModules(model, inplace: true);
        foreach (var path in paths)
            Quantizer.SetQConfig(ModuleTree.Resolve(fused, path), null);
        var prepared = Quantizer.PrepareQat(fused, qconfig, inplace: true);
        foreach (var learnable in prepared.modules().OfType<LearnableFakeQuantize>())
            learnable.EnableStaticEstimate(); // the observers set the qparams until they freeze
        return prepared;
    }

    // Our own SGD/Adam: TorchSharp's optimizers can crash under concurrent garbage collection (see ParameterUpdater).
    private ParameterUpdater CreateOptimizer(nn.Module<Tensor, Tensor> model)
    {
        var qparams = model.modules().OfType<LearnableFakeQuantize>().SelectMany(l => new[] { l.Scale, l.ZeroPoint }).ToList();
        return _options.Optimizer switch
        {
            QatOptimizer.Sgd => new SgdUpdater(model.parameters(), _options.LearningRate, _options.Momentum, _options.WeightDecay, qparams),
            _ => new AdamUpdater(model.parameters(), _options.LearningRate, _options.WeightDecay, qparams),
        };
    }

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
        // Batch norm cannot train on a batch of one row (its variance is 0): such a last batch is left out, as PyTorch's drop_last.
        bool hasBatchNorm = model.modules().Any(m => m is BatchNorm2d or Modules.Qat.ConvBn2d);
        // Dropout draws its masks from TorchSharp's process-wide generator (its dropout takes none of its own): each such
        // forward pass runs under the lock with a seed of this run's own, so a seed means the same model beside other Fits.
        bool drawsRandom = model.modules().Any(m => m.GetType().Name.Contains("Dropout", StringComparison.Ordinal));
        foreach (int n in _train.Batches(shuffle, _host.CheckAlive))
        {
            if (n == 1 && hasBatchNorm && TrainingRows > 1)
                continue;
            using var step = NewDisposeScope();
            var (x, y) = Load(_train, n, input, labels);
            optimizer.ZeroGrad();
            Tensor outputs;
            if (drawsRandom)
            {
                lock (RandomLock)
                {
                    torch.manual_seed(unchecked(_seed * 1_000_003L + ++_randomSteps));
                    outputs = model.call(x);
                }
            }
            else
            {
                outputs = model.call(x);
            }
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
            model.Run(data.Features.AsSpan(0, n * model.InputSize), outputs.AsSpan(0, n * model.OutputSize), n);
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
