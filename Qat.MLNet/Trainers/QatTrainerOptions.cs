using Microsoft.ML;
using Qat.MLNet.Internal;
using Qat.MLNet.Quantization;

namespace Qat.MLNet.Trainers;

/// <summary>
/// Options shared by the Qat trainers (multiclass, binary, regression). The recipe is PyTorch's eager-mode QAT:
/// <see cref="NumberOfFloatEpochs"/> of float training, then fusion and <c>prepare_qat</c>, then
/// <see cref="NumberOfEpochs"/> of fake-quantized training, freezing observers and batch-norm statistics after the given
/// QAT epochs, and finally <c>convert</c> to int8. Every value is checked when the trainer is created.
/// </summary>
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

    /// <summary>Float epochs before fake quantization is inserted (0 = QAT from the start). Default 2.</summary>
    public int NumberOfFloatEpochs { get; set; } = QatDefaults.NumberOfFloatEpochs;

    /// <summary>Quantization-aware epochs (at least 1: the int8 model needs trained quantization parameters). Default 3.</summary>
    public int NumberOfEpochs { get; set; } = QatDefaults.NumberOfEpochs;

    /// <summary>Rows per mini-batch. Default 64.</summary>
    public int BatchSize { get; set; } = QatDefaults.BatchSize;

    /// <summary>The optimizer. Default Adam.</summary>
    public QatOptimizer Optimizer { get; set; } = QatDefaults.Optimizer;

    /// <summary>The initial learning rate, positive. Default 0.001.</summary>
    public double LearningRate { get; set; } = QatDefaults.LearningRate;

    /// <summary>SGD momentum in [0, 1) (ignored by Adam: setting it with Adam is an error). Default 0.9.</summary>
    public double Momentum { get; set; } = QatDefaults.Momentum;

    /// <summary>Weight decay (L2 penalty), non-negative. Default 0.</summary>
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

    /// <summary>TorchSharp threads during training; null leaves TorchSharp's setting. Restored after training.</summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>Whether to shuffle rows every epoch (the data's own shuffling plus a pool of <see cref="QatDefaults.ShufflePoolSize"/> rows). Default true.</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>
    /// Data to report validation metrics on after every epoch and for the float / fake-quant / int8 comparison; same
    /// columns as the training data. Null reports the comparison on the training data.
    /// </summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>A copy of these options (the trainer keeps one so later changes by the caller do not affect it).</summary>
    internal QatTrainerOptions Copy() => (QatTrainerOptions)MemberwiseClone();

    /// <summary>Checks every option; throws naming the option, its value and the rule.</summary>
    internal void Validate()
    {
        Guard.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "must name a column.");
        Guard.Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "must name a column.");
        Guard.Require(LabelColumnName != FeatureColumnName, nameof(LabelColumnName), LabelColumnName, "must differ from FeatureColumnName.");
        Guard.NotNull(Network, nameof(Network));
        Guard.InRange(Enum.IsDefined(Backend), nameof(Backend), Backend, "is not a known backend.");
        Guard.InRange(NumberOfFloatEpochs >= 0, nameof(NumberOfFloatEpochs), NumberOfFloatEpochs, "must be >= 0.");
        Guard.InRange(NumberOfEpochs >= 1, nameof(NumberOfEpochs), NumberOfEpochs, "must be >= 1: the int8 model needs at least one QAT epoch to learn its quantization parameters.");
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
        if (FreezeObserversAfterEpoch == 0)
            throw new ArgumentOutOfRangeException(nameof(FreezeObserversAfterEpoch), FreezeObserversAfterEpoch,
                "FreezeObserversAfterEpoch (0) would freeze the observers before they have seen any data; use 1 or more, or null.");
    }

    /// <summary>The qconfig in effect and its name for reports.</summary>
    internal (QConfig QConfig, string Name) ResolveQConfig() =>
        QConfig is { } q ? (q, "custom") : (QConfig.GetDefaultQat(Backend), Backend.ToString().ToLowerInvariant());

    /// <summary>The learning rate of 0-based <paramref name="epoch"/> out of <paramref name="epochs"/>.</summary>
    internal double LearningRateAt(int epoch, int epochs) => LearningRateSchedule switch
    {
        QatLearningRateSchedule.Step => LearningRate * Math.Pow(LearningRateGamma, epoch / LearningRateStepSize),
        QatLearningRateSchedule.Cosine => LearningRate * (1 + Math.Cos(Math.PI * epoch / epochs)) / 2,
        _ => LearningRate,
    };
}
