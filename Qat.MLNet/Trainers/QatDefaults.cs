using Qat.MLNet.Quantization;

namespace Qat.MLNet.Trainers;

/// <summary>
/// The default values of the Qat trainers' options, shared by the catalog methods and the <see cref="QatTrainerOptions"/>
/// class so that the two cannot drift apart.
/// </summary>
public static class QatDefaults
{
    /// <summary>Default label column name: "Label".</summary>
    public const string LabelColumnName = "Label";

    /// <summary>Default feature column name: "Features".</summary>
    public const string FeatureColumnName = "Features";

    /// <summary>Default quantization backend: <see cref="QuantBackend.Fbgemm"/> (per-channel int8 weights, reduce_range activations).</summary>
    public const QuantBackend Backend = QuantBackend.Fbgemm;

    /// <summary>
    /// Optimizer steps the float phase aims at when <see cref="QatTrainerOptions.NumberOfFloatEpochs"/> is null: 1500. The
    /// epochs are <c>ceil(1500 / steps per epoch)</c>, at most <see cref="MaximumEpochsPerPhase"/>, and early stopping may end
    /// the phase sooner.
    /// </summary>
    public const int FloatOptimizerSteps = 1500;

    /// <summary>Optimizer steps the quantization-aware phase aims at when <see cref="QatTrainerOptions.NumberOfEpochs"/> is null: 600.</summary>
    public const int QatOptimizerSteps = 600;

    /// <summary>The most epochs an adaptive phase runs (tiny data sets have few steps per epoch): 300.</summary>
    public const int MaximumEpochsPerPhase = 300;

    /// <summary>
    /// Wall-clock cap of a Fit, in seconds: 300. The float phase may use two thirds of it; every phase runs at least one
    /// epoch, so the cap can be passed by one epoch's time.
    /// </summary>
    public const double MaximumTrainingTimeInSeconds = 300;

    /// <summary>Share of the training rows held out for early stopping when no validation set is given: 0.2 (stratified by class).</summary>
    public const double ValidationFraction = 0.2;

    /// <summary>Below this many training rows nothing is held out and early stopping is off: 50.</summary>
    public const int MinimumRowsForHoldout = 50;

    /// <summary>Networks an ensemble trains and averages when <see cref="QatTrainerOptions.EnsembleSize"/> is null and the data is small: 5.</summary>
    public const int EnsembleSize = 5;

    /// <summary>
    /// The most training rows (held-out rows included) for which a null <see cref="QatTrainerOptions.EnsembleSize"/> trains an
    /// ensemble of the built-in MLP: 1000. Above it one network is trained (more rows, less variance to average away, and
    /// each member costs a whole Fit).
    /// </summary>
    public const int MaximumRowsForEnsemble = 1000;

    /// <summary>Epochs without a better validation loss after which an adaptive phase stops: 20.</summary>
    public const int EarlyStoppingPatience = 20;

    /// <summary>Default feature scaling: <see cref="QatFeatureScaling.Auto"/>.</summary>
    public const QatFeatureScaling FeatureScaling = QatFeatureScaling.Auto;

    /// <summary>Default mini-batch size: 64.</summary>
    public const int BatchSize = 64;

    /// <summary>Default optimizer: Adam.</summary>
    public const QatOptimizer Optimizer = QatOptimizer.Adam;

    /// <summary>Default learning rate: 0.001 (suits Adam; SGD usually wants ~0.01-0.1).</summary>
    public const double LearningRate = 0.001;

    /// <summary>Default SGD momentum: 0.9.</summary>
    public const double Momentum = 0.9;

    /// <summary>Default weight decay (L2 penalty added by the optimizer): 0.001, which keeps small data sets from overfitting.</summary>
    public const double WeightDecay = 1e-3;

    /// <summary>
    /// Default class weighting of the multiclass trainer: balanced. On R's glass data (fgl: 214 rows, 6 types of 9 to 76 rows)
    /// it raised macro accuracy from 0.636 to 0.713 and micro accuracy from 0.695 to 0.702 (10 splits); on balanced data it
    /// changes nothing (benchmarks/README.md).
    /// </summary>
    public const QatClassWeighting ClassWeighting = QatClassWeighting.Balanced;

    /// <summary>Default learning-rate schedule: constant.</summary>
    public const QatLearningRateSchedule LearningRateSchedule = QatLearningRateSchedule.Constant;

    /// <summary>Default step-schedule period in epochs: 1.</summary>
    public const int LearningRateStepSize = 1;

    /// <summary>Default step-schedule factor: 0.1.</summary>
    public const double LearningRateGamma = 0.1;

    /// <summary>Default number of QAT epochs after which observers freeze (PyTorch's <c>disable_observer</c>): 2.</summary>
    public const int FreezeObserversAfterEpoch = 2;

    /// <summary>Default number of QAT epochs after which batch-norm statistics freeze (PyTorch's <c>freeze_bn_stats</c>): 2.</summary>
    public const int FreezeBatchNormAfterEpoch = 2;

    /// <summary>Default hidden layer sizes of the built-in MLP: 128 and 64.</summary>
    public static int[] MlpHiddenSizes => new[] { 128, 64 };

    /// <summary>Default number of rows the streaming shuffle keeps in its pool when the data cannot shuffle itself: 1000.</summary>
    public const int ShufflePoolSize = 1000;

    /// <summary>The most feature bytes the streaming shuffle's pool holds (16 MiB): wide rows get a smaller pool.</summary>
    public const long ShufflePoolBytes = 16L << 20;

    /// <summary>The most evaluation rows the per-layer analysis and the keep-float suggestion run on (the first ones).</summary>
    public const int AnalysisRows = 2000;
}
