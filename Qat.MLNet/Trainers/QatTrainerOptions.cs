using Microsoft.ML;
using Qat.MLNet.Internal;
using Qat.MLNet.Quantization;

namespace Qat.MLNet.Trainers;

/// <summary>
/// Options shared by the Qat trainers (multiclass, binary, regression). The recipe is PyTorch's eager-mode QAT:
/// float training, then fusion and <c>prepare_qat</c>, then fake-quantized training, freezing observers and batch-norm
/// statistics after the given QAT epochs, and finally <c>convert</c> to int8. Every value is checked when the trainer is
/// created.
/// </summary>
/// <remarks>
/// <para>The training budget adapts to the data unless epochs are given. With <see cref="NumberOfFloatEpochs"/> null the
/// float phase runs <c>ceil(FloatOptimizerSteps / steps per epoch)</c> epochs (steps per epoch = training rows / batch
/// size, rounded up), at most <see cref="MaximumEpochsPerPhase"/>; likewise the QAT phase with <see cref="QatOptimizerSteps"/>
/// when <see cref="NumberOfEpochs"/> is null. A phase whose epochs were chosen so stops early when the validation loss has
/// not improved for <see cref="EarlyStoppingPatience"/> epochs, and the network goes on from its best epoch (the best float
/// state before PrepareQat, the best QAT state before Convert); <see cref="MaximumTrainingTimeInSeconds"/> caps the whole
/// Fit (two thirds of it for the float phase). Epoch counts that are set are run exactly, to the last epoch.</para>
/// <para>Validation: <see cref="ValidationSet"/> when given; otherwise <see cref="ValidationFraction"/> of the training rows,
/// chosen by a seeded, class-stratified systematic sample, are held out from training (none below
/// <see cref="QatDefaults.MinimumRowsForHoldout"/> rows, and then no early stopping). The training report says which epochs
/// were kept and why.</para>
/// </remarks>
public abstract class QatTrainerOptions
{
    /// <summary>The label column. Default "Label".</summary>
    public string LabelColumnName { get; set; } = QatDefaults.LabelColumnName;

    /// <summary>The feature column: a known-size vector of Single. Default "Features".</summary>
    public string FeatureColumnName { get; set; } = QatDefaults.FeatureColumnName;

    /// <summary>The float network to train. Default: <see cref="QatNetwork.Mlp"/> with hidden sizes 128 and 64.</summary>
    public QatNetwork Network { get; set; } = QatNetwork.Mlp(QatDefaults.MlpHiddenSizes);

    /// <summary>The backend whose default QAT qconfig is used (PyTorch's <c>get_default_qat_qconfig</c>) unless <see cref="QConfig"/> is set. Default fbgemm.</summary>
    public QuantBackend Backend { get; set; } = QatDefaults.Backend;

    /// <summary>An explicit qconfig; overrides <see cref="Backend"/>. Activations must be per-tensor quint8 and weights symmetric qint8 for the int8 engine.</summary>
    public QConfig? QConfig { get; set; }

    /// <summary>
    /// Float epochs before fake quantization is inserted (0 = QAT from the start), run exactly; null (the default) chooses
    /// them from the data: see the remarks.
    /// </summary>
    public int? NumberOfFloatEpochs { get; set; }

    /// <summary>
    /// Quantization-aware epochs (at least 1: the int8 model needs trained quantization parameters), run exactly; null (the
    /// default) chooses them from the data: see the remarks.
    /// </summary>
    public int? NumberOfEpochs { get; set; }

    /// <summary>Optimizer steps the float phase aims at when <see cref="NumberOfFloatEpochs"/> is null, positive. Default 1500.</summary>
    public int FloatOptimizerSteps { get; set; } = QatDefaults.FloatOptimizerSteps;

    /// <summary>Optimizer steps the QAT phase aims at when <see cref="NumberOfEpochs"/> is null, positive. Default 600.</summary>
    public int QatOptimizerSteps { get; set; } = QatDefaults.QatOptimizerSteps;

    /// <summary>The most epochs a phase whose epochs are chosen from the data runs, positive. Default 300.</summary>
    public int MaximumEpochsPerPhase { get; set; } = QatDefaults.MaximumEpochsPerPhase;

    /// <summary>Wall-clock cap of Fit in seconds, positive (see the remarks). Default 300.</summary>
    public double MaximumTrainingTimeInSeconds { get; set; } = QatDefaults.MaximumTrainingTimeInSeconds;

    /// <summary>
    /// Epochs without a better validation loss after which a phase whose epochs were chosen from the data stops (and the
    /// best epoch's state is kept); null trains every chosen epoch and keeps the last. Default 20.
    /// </summary>
    public int? EarlyStoppingPatience { get; set; } = QatDefaults.EarlyStoppingPatience;

    /// <summary>
    /// Share of the training rows held out as the validation set when <see cref="ValidationSet"/> is null, in [0, 0.5]; 0
    /// holds out nothing (no early stopping then). Default 0.2.
    /// </summary>
    public double ValidationFraction { get; set; } = QatDefaults.ValidationFraction;

    /// <summary>
    /// How many networks to train and average. Each member is a whole Fit of <see cref="Network"/> with its own seed
    /// (<see cref="Seed"/> + member index), its own held-out rows for early stopping and its share of
    /// <see cref="MaximumTrainingTimeInSeconds"/>; members train side by side, up to one per core (or per
    /// <see cref="NumberOfThreads"/>, which they share; 1 trains them one after another), and the model does not depend on
    /// how many ran at once; then the members are merged into one wider network (the first layers side by side, the
    /// hidden ones block-diagonal, the last averaging their outputs, a regression's in the label's units), its quantization
    /// parameters observed once on the training rows, and converted: the int8 model is one network, which saves, loads and
    /// exports like any other. Averaging removes much of the variance a network trained on a few hundred rows has. Null, the
    /// default: <see cref="QatDefaults.EnsembleSize"/> members for the built-in MLP when the training data has at most
    /// <see cref="QatDefaults.MaximumRowsForEnsemble"/> rows and the trainer chooses the epochs (<see cref="NumberOfEpochs"/>
    /// and <see cref="NumberOfFloatEpochs"/> null), otherwise 1: whoever sets the epochs gets one network trained for them.
    /// 1 trains a single network; more than 1 needs the built-in MLP (<see cref="QatNetwork.Mlp"/>). The int8 model's size
    /// and latency grow with the member count (the hidden layers are block-diagonal: about K times the first layer's and
    /// K squared times each further layer's multiply-adds).
    /// </summary>
    public int? EnsembleSize { get; set; }

    /// <summary>How features are scaled in front of the input quantization. Default <see cref="QatFeatureScaling.Auto"/>.</summary>
    public QatFeatureScaling FeatureScaling { get; set; } = QatDefaults.FeatureScaling;

    /// <summary>
    /// Bins of the piecewise-linear encoding of every feature (Gorishniy et al. 2022), or 0 (the default) for none. With K,
    /// each feature becomes K values in [0, 1], one per quantile bin of the training rows (0 below the bin, 1 above it,
    /// linear inside; a feature with few distinct values gets fewer bins), and the MLP reads those: it can then place a
    /// threshold, or pick out a frequent exact value, as a tree does. The encoding is two frozen layers in front of the MLP
    /// (named <c>ple_ramps</c> and <c>ple_bins</c>; features x (K + 1) and features x K units), so the int8 model saves, loads,
    /// scores and exports like any other, and is larger: the second layer holds features² x K x (K + 1) weights. Measured
    /// (benchmarks/README.md, "The piecewise-linear encoding"; 16 bins, 10 splits): it helps data where trees beat the MLP
    /// (modechoice accuracy / AUC 0.901 / 0.932 -> 0.921 / 0.958, randhie R² 0.054 -> 0.061) and costs smooth data (diabetes
    /// R² 0.478 -> 0.449, digits 0.978 -> 0.969), so it is an option to try, e.g. in a <c>QatExperiment</c>
    /// (<c>QatSearchSpace.PiecewiseLinearBins</c>), not a default. Needs the built-in MLP; at most 64 bins and 2,048 units
    /// (features x (K + 1)); the quantiles come from every training row (a seeded sample of 20,000 on larger data).
    /// </summary>
    public int PiecewiseLinearBins { get; set; }

    /// <summary>Rows per mini-batch. Default 64.</summary>
    public int BatchSize { get; set; } = QatDefaults.BatchSize;

    /// <summary>The optimizer. Default Adam.</summary>
    public QatOptimizer Optimizer { get; set; } = QatDefaults.Optimizer;

    /// <summary>The initial learning rate, positive. Default 0.001.</summary>
    public double LearningRate { get; set; } = QatDefaults.LearningRate;

    /// <summary>SGD momentum in [0, 1) (ignored by Adam: setting it with Adam is an error). Default 0.9.</summary>
    public double Momentum { get; set; } = QatDefaults.Momentum;

    /// <summary>Weight decay (L2 penalty), non-negative. Default 0.001.</summary>
    public double WeightDecay { get; set; } = QatDefaults.WeightDecay;

    /// <summary>How the learning rate changes per epoch. Default constant.</summary>
    public QatLearningRateSchedule LearningRateSchedule { get; set; } = QatDefaults.LearningRateSchedule;

    /// <summary>Epochs per step of the <see cref="QatLearningRateSchedule.Step"/> schedule, positive. Default 1.</summary>
    public int LearningRateStepSize { get; set; } = QatDefaults.LearningRateStepSize;

    /// <summary>Factor per step of the <see cref="QatLearningRateSchedule.Step"/> schedule, in (0, 1]. Default 0.1.</summary>
    public double LearningRateGamma { get; set; } = QatDefaults.LearningRateGamma;

    /// <summary>
    /// After this many QAT epochs the observers stop updating scales and zero points (PyTorch: <c>disable_observer</c>);
    /// null never freezes them. Default 2.
    /// </summary>
    public int? FreezeObserversAfterEpoch { get; set; } = QatDefaults.FreezeObserversAfterEpoch;

    /// <summary>
    /// After this many QAT epochs batch-norm running statistics stop updating (PyTorch: <c>freeze_bn_stats</c>); null never
    /// freezes them. Default 2.
    /// </summary>
    public int? FreezeBatchNormAfterEpoch { get; set; } = QatDefaults.FreezeBatchNormAfterEpoch;

    /// <summary>
    /// Seed for weight initialisation and shuffling; null takes one from the MLContext (so <c>new MLContext(seed)</c> makes
    /// training repeatable). TorchSharp's generator is process-wide: training seeds it.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// TorchSharp threads during training, restored after it (TorchSharp's count is process-wide: Fits running at the same
    /// time in one process share it). Null, the default: one for the built-in MLP, whose operations
    /// (a batch through layers of a few hundred units) are too small to split across threads (on 2 cores one thread trains
    /// the tabular defaults 2-2.8 times faster than two, and a Fashion-MNIST MLP's float + QAT epoch 20 % faster:
    /// benchmarks/README.md, "Training threads"); TorchSharp's own setting for other networks, whose convolutions gain from
    /// more. An ensemble's members train side by side, up to one per core or per this count.
    /// </summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>
    /// At scoring time, whether a row whose features hold NaN or infinity throws (naming the row and the slot) instead of
    /// getting NaN scores and a missing PredictedLabel with a warning in MLContext.Log, ML.NET's own behaviour. Default
    /// false. Saved with the model (<c>QatTransformerBase.ThrowOnNonFiniteFeatures</c>). Training data must be finite either way.
    /// </summary>
    public bool ThrowOnNonFiniteFeatures { get; set; }

    /// <summary>
    /// Threads the returned transformer's <c>Transform</c> scores each block of rows on (shared among the cursors of a
    /// cursor set); null, the default, for every core, as ML.NET's components take null. At least 1. Saved with the model.
    /// </summary>
    public int? NumberOfScoringThreads { get; set; }

    /// <summary>
    /// Whether to shuffle rows every epoch. Default true. Data that can shuffle itself (in memory, or after
    /// <c>AppendCacheCheckpoint</c>) is read in a random order with no copy; other data streams through a pool of
    /// <see cref="QatDefaults.ShufflePoolSize"/> rows (fewer for wide rows, at most <see cref="QatDefaults.ShufflePoolBytes"/>
    /// of features), as ML.NET's <c>ShuffleRows</c> does: cache such data for a full shuffle.
    /// </summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>
    /// Data to report validation metrics on after every epoch, to stop early on, and for the float / fake-quant / int8
    /// comparison; same columns as the training data. Null holds out <see cref="ValidationFraction"/> of the training rows.
    /// </summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>
    /// Learn the quantization scales and zero points by gradient descent (LSQ, PyTorch's <c>_LearnableFakeQuantize</c>):
    /// the backend's qconfig in learnable form (<c>QConfig.GetDefaultQatLearnable</c>); the observers set the qparams until
    /// <see cref="FreezeObserversAfterEpoch"/>, then the optimizer learns them (without weight decay). Cannot be combined
    /// with an explicit <see cref="QConfig"/> (give a learnable one there instead). Default false.
    /// </summary>
    public bool LearnableScales { get; set; }

    /// <summary>
    /// Weighted layers of <see cref="Network"/> to train and run in float (mixed precision), by their names in the network
    /// as built (<c>fc3</c>, <c>conv1</c>; the engine's layer names add a <c>net.</c> prefix, which is accepted too). Each
    /// stays float through PrepareQat with its output fake-quantized, and runs in float between the int8 layers. Names are
    /// checked against the network before the first step. Default none.
    /// </summary>
    public IReadOnlyList<string>? KeepFloatLayers { get; set; }

    /// <summary>
    /// The largest int8-versus-float metric drop to accept on the evaluation data; when int8 loses more, Convert keeps in
    /// float the fewest layers (most sensitive first, measured one at a time on the int8 engine) that bring it within the
    /// drop. The metric is accuracy for classification (0.005 = half a point) and the negative mean squared error of the
    /// (standardized) label for regression. Null, the default, converts every layer to int8.
    /// </summary>
    public double? MaximumInt8MetricDrop { get; set; }

    /// <summary>
    /// Whether Fit analyses the converted model layer by layer on (up to <see cref="QatDefaults.AnalysisRows"/> rows of) the
    /// evaluation data and puts the table in the training report (<c>QatTrainingReport.Layers</c>): SQNR against float, int8
    /// engine against fake-quant in output steps, ranges, weight outliers, the metric with each layer alone in float.
    /// Default true.
    /// </summary>
    public bool AnalyzeLayers { get; set; } = true;

    /// <summary>
    /// A folder Fit writes its report to (created if missing; each file written whole or not at all): <c>report.md</c>,
    /// <c>report.json</c>, <c>loss.png</c>, <c>accuracy.png</c> (classification), <c>sqnr.png</c> and one
    /// <c>weights-LAYER.png</c> per int8 weighted layer. Null, the default, writes none. A folder that cannot be created or
    /// written to is refused before training; a write that fails after training (disk full) is logged and the model kept.
    /// </summary>
    public string? ReportFolder { get; set; }

    /// <summary>A copy of these options (the trainer keeps one so later changes by the caller do not affect it).</summary>
    internal QatTrainerOptions Copy() => (QatTrainerOptions)MemberwiseClone();

    /// <summary>Checks the options of one task's Options class (none by default).</summary>
    internal virtual void ValidateTaskOptions()
    {
    }

    /// <summary>Checks every option; throws naming the option, its value and the rule.</summary>
    internal void Validate()
    {
        ValidateTaskOptions();
        Guard.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "must name a column.");
        Guard.Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "must name a column.");
        Guard.Require(LabelColumnName != FeatureColumnName, nameof(LabelColumnName), LabelColumnName, "must differ from FeatureColumnName.");
        Guard.NotNull(Network, nameof(Network));
        Guard.InRange(Enum.IsDefined(Backend), nameof(Backend), Backend, "is not a known backend.");
        Guard.InRange(NumberOfFloatEpochs is null or >= 0, nameof(NumberOfFloatEpochs), NumberOfFloatEpochs, "must be >= 0, or null to choose from the data.");
        Guard.InRange(NumberOfEpochs is null or >= 1, nameof(NumberOfEpochs), NumberOfEpochs, "must be >= 1 (the int8 model needs at least one QAT epoch to learn its quantization parameters), or null to choose from the data.");
        Guard.InRange(FloatOptimizerSteps >= 1, nameof(FloatOptimizerSteps), FloatOptimizerSteps, "must be positive.");
        Guard.InRange(QatOptimizerSteps >= 1, nameof(QatOptimizerSteps), QatOptimizerSteps, "must be positive.");
        Guard.InRange(MaximumEpochsPerPhase >= 1, nameof(MaximumEpochsPerPhase), MaximumEpochsPerPhase, "must be positive.");
        Guard.InRange(MaximumTrainingTimeInSeconds > 0 && double.IsFinite(MaximumTrainingTimeInSeconds), nameof(MaximumTrainingTimeInSeconds), MaximumTrainingTimeInSeconds, "must be a positive finite number.");
        Guard.InRange(EarlyStoppingPatience is null or >= 1, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be positive, or null for no early stopping.");
        Guard.InRange(NumberOfScoringThreads is null or >= 1, nameof(NumberOfScoringThreads), NumberOfScoringThreads, "must be at least 1, or null for every core.");
        Guard.InRange(EnsembleSize is null or (>= 1 and <= MaximumEnsembleSize), nameof(EnsembleSize), EnsembleSize,
            $"must be between 1 and {MaximumEnsembleSize}, or null to choose from the data.");
        Guard.Require(EnsembleSize is null or 1 || Network?.MlpHiddenSizes is not null, nameof(EnsembleSize), EnsembleSize,
            $"needs the built-in MLP (QatNetwork.Mlp), which the trainer knows how to merge; the network is '{Network?.Description}'. Set EnsembleSize to 1 or null for this network.");
        Guard.InRange(PiecewiseLinearBins == 0 || (PiecewiseLinearBins >= 2 && PiecewiseLinearBins <= MaximumPiecewiseLinearBins), nameof(PiecewiseLinearBins), PiecewiseLinearBins,
            $"must be 0 (no encoding) or between 2 and {MaximumPiecewiseLinearBins}.");
        Guard.Require(PiecewiseLinearBins == 0 || Network?.MlpHiddenSizes is not null, nameof(PiecewiseLinearBins), PiecewiseLinearBins,
            $"needs the built-in MLP (QatNetwork.Mlp), in front of which the trainer puts the encoding; the network is '{Network?.Description}'. Set PiecewiseLinearBins to 0 for this network, or encode the features in the pipeline.");
        Guard.InRange(ValidationFraction >= 0 && ValidationFraction <= 0.5, nameof(ValidationFraction), ValidationFraction, "must be in [0, 0.5].");
        Guard.InRange(Enum.IsDefined(FeatureScaling), nameof(FeatureScaling), FeatureScaling, "is not a known feature scaling.");
        Guard.InRange(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be positive.");
        Guard.InRange(Enum.IsDefined(Optimizer), nameof(Optimizer), Optimizer, "is not a known optimizer.");
        Guard.InRange(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a positive finite number.");
        Guard.InRange(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "must be in [0, 1).");
        Guard.Require(Optimizer == QatOptimizer.Sgd || Momentum == QatDefaults.Momentum, nameof(Momentum), Momentum,
            "only applies to SGD; Adam uses its own moment estimates. Leave Momentum at its default or choose QatOptimizer.Sgd.");
        Guard.InRange(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "must be a non-negative finite number.");
        Guard.InRange(Enum.IsDefined(LearningRateSchedule), nameof(LearningRateSchedule), LearningRateSchedule, "is not a known schedule.");
        Guard.InRange(LearningRateStepSize >= 1, nameof(LearningRateStepSize), LearningRateStepSize, "must be positive.");
        Guard.InRange(LearningRateGamma > 0 && LearningRateGamma <= 1, nameof(LearningRateGamma), LearningRateGamma, "must be in (0, 1].");
        Guard.InRange(FreezeObserversAfterEpoch is null or >= 0, nameof(FreezeObserversAfterEpoch), FreezeObserversAfterEpoch, "must be >= 0 or null (never).");
        Guard.InRange(FreezeBatchNormAfterEpoch is null or >= 0, nameof(FreezeBatchNormAfterEpoch), FreezeBatchNormAfterEpoch, "must be >= 0 or null (never).");
        Guard.InRange(NumberOfThreads is null or >= 1, nameof(NumberOfThreads), NumberOfThreads, "must be positive or null.");
        if (KeepFloatLayers is { } keep)
        {
            for (int i = 0; i < keep.Count; i++)
                Guard.Require(!string.IsNullOrWhiteSpace(keep[i]), $"{nameof(KeepFloatLayers)}[{i}]", keep[i], "must name a weighted layer of the network.");
            Guard.Require(keep.Distinct().Count() == keep.Count, nameof(KeepFloatLayers), string.Join(", ", keep), "names a layer twice.");
        }
        Guard.InRange(MaximumInt8MetricDrop is null || (MaximumInt8MetricDrop >= 0 && double.IsFinite(MaximumInt8MetricDrop.Value)), nameof(MaximumInt8MetricDrop), MaximumInt8MetricDrop,
            "must be zero or a positive finite number, or null to convert every layer to int8.");
        Guard.Require(ReportFolder is null || !string.IsNullOrWhiteSpace(ReportFolder), nameof(ReportFolder), ReportFolder, "must name a folder, or be null for no report.");
        if (QConfig is { } qconfig)
            Training.EngineQConfigCheck.Ensure(qconfig, nameof(QConfig));
        Guard.Require(!(LearnableScales && QConfig is not null), nameof(LearnableScales), LearnableScales,
            "cannot be combined with an explicit QConfig: leave QConfig null (the backend's learnable qconfig is used), or pass a learnable QConfig (QConfig.GetDefaultQatLearnable) without LearnableScales.");
        Guard.Require(!LearnableScales || FreezeObserversAfterEpoch is not null, nameof(FreezeObserversAfterEpoch), FreezeObserversAfterEpoch,
            "must be set with LearnableScales: learning of the scales begins when the observers freeze.");
        if (FreezeObserversAfterEpoch == 0)
            throw new ArgumentOutOfRangeException(nameof(FreezeObserversAfterEpoch), FreezeObserversAfterEpoch,
                "FreezeObserversAfterEpoch (0) would freeze the observers before they have seen any data; use 1 or more, or null.");
    }

    /// <summary>The most bins <see cref="PiecewiseLinearBins"/> may ask for.</summary>
    internal const int MaximumPiecewiseLinearBins = 64;

    /// <summary>The most members an ensemble may have.</summary>
    internal const int MaximumEnsembleSize = 16;

    /// <summary>The TorchSharp threads a Fit sets (see <see cref="NumberOfThreads"/>); null leaves TorchSharp's setting.</summary>
    internal int? ResolveTrainingThreads() => NumberOfThreads ?? (Network.MlpHiddenSizes is not null ? 1 : null);

    /// <summary>The members to train for data of <paramref name="rows"/> rows (held-out ones included): see <see cref="EnsembleSize"/>.</summary>
    internal int ResolveEnsembleSize(long rows) =>
        EnsembleSize ?? (Network.MlpHiddenSizes is not null && NumberOfEpochs is null && NumberOfFloatEpochs is null && rows <= QatDefaults.MaximumRowsForEnsemble
            ? QatDefaults.EnsembleSize : 1);

    /// <summary>The qconfig in effect and its name for reports.</summary>
    internal (QConfig QConfig, string Name) ResolveQConfig() =>
        QConfig is { } q ? (q, "custom")
        : LearnableScales ? (QConfig.GetDefaultQatLearnable(Backend), Backend.ToString().ToLowerInvariant() + " learnable (LSQ)")
        : (QConfig.GetDefaultQat(Backend), Backend.ToString().ToLowerInvariant());

    /// <summary>The learning rate of 0-based <paramref name="epoch"/> out of <paramref name="epochs"/>.</summary>
    internal double LearningRateAt(int epoch, int epochs) => LearningRateSchedule switch
    {
        QatLearningRateSchedule.Step => LearningRate * Math.Pow(LearningRateGamma, epoch / LearningRateStepSize),
        QatLearningRateSchedule.Cosine => LearningRate * (1 + Math.Cos(Math.PI * epoch / epochs)) / 2,
        _ => LearningRate,
    };
}
