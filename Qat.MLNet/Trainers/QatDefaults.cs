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

    /// <summary>Default number of float pre-training epochs before fake quantization starts: 2.</summary>
    public const int NumberOfFloatEpochs = 2;

    /// <summary>Default number of quantization-aware (fake-quant) epochs: 3.</summary>
    public const int NumberOfEpochs = 3;

    /// <summary>Default mini-batch size: 64.</summary>
    public const int BatchSize = 64;

    /// <summary>Default optimizer: Adam.</summary>
    public const QatOptimizer Optimizer = QatOptimizer.Adam;

    /// <summary>Default learning rate: 0.001 (suits Adam; SGD usually wants ~0.01-0.1).</summary>
    public const double LearningRate = 0.001;

    /// <summary>Default SGD momentum: 0.9.</summary>
    public const double Momentum = 0.9;

    /// <summary>Default weight decay (L2 penalty added by the optimizer): 0.</summary>
    public const double WeightDecay = 0;

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
}
