using System.Globalization;
using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Experiments;

/// <summary>One point of a <see cref="QatSearchSpace"/>: the settings a trial trains with, printable and reusable as trainer options.</summary>
public sealed record QatTrialSettings
{
    /// <summary>Quantization backend.</summary>
    public QuantBackend Backend { get; init; }

    /// <summary>Activation observer.</summary>
    public QatObserverKind Observer { get; init; }

    /// <summary>Averaging constant of the moving-average observer (unused by <see cref="QatObserverKind.MinMax"/>).</summary>
    public double AveragingConstant { get; init; } = 0.01;

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>Float epochs; null: chosen from the data, as the trainer's default (its step budget, with early stopping).</summary>
    public int? FloatEpochs { get; init; }

    /// <summary>QAT epochs; null: chosen from the data, as the trainer's default.</summary>
    public int? QatEpochs { get; init; }

    /// <summary>Optimizer steps the float phase aims at when <see cref="FloatEpochs"/> is null; null: the trainer's default (1,500).</summary>
    public int? FloatOptimizerSteps { get; init; }

    /// <summary>Optimizer steps the QAT phase aims at when <see cref="QatEpochs"/> is null; null: the trainer's default (600).</summary>
    public int? QatOptimizerSteps { get; init; }

    /// <summary>
    /// The trainer's own defaults (what <c>Trainers.Qat()</c> does with no options) as a trial: fbgemm with the moving-average
    /// observer, learning rate 0.001, epochs chosen from the data, freezes after 2 QAT epochs, batch 64, MLP 128-64, weight
    /// decay 0.001; on at most 1,000 rows, as the trainer does, five such networks merged into one
    /// (<see cref="QatTrainerOptions.EnsembleSize"/> stays null in every trial, so a trial whose epochs are chosen from the
    /// data ensembles small data too; with k folds "small" counts all the folded rows, as a refit on them would, not one
    /// fold's). <c>QatExperiment.SetDefaultsFirst()</c> runs it before the tuner's trials.
    /// </summary>
    public static QatTrialSettings TrainerDefaults => new()
    {
        Backend = QatDefaults.Backend,
        Observer = QatObserverKind.MovingAverageMinMax,
        AveragingConstant = 0.01,
        LearningRate = QatDefaults.LearningRate,
        FloatEpochs = null,
        QatEpochs = null,
        FreezeObserversAfterEpoch = QatDefaults.FreezeObserversAfterEpoch,
        FreezeBatchNormAfterEpoch = QatDefaults.FreezeBatchNormAfterEpoch,
        BatchSize = QatDefaults.BatchSize,
        HiddenSizes = QatDefaults.MlpHiddenSizes,
        WeightDecay = QatDefaults.WeightDecay,
    };

    /// <summary>QAT epoch after which observers freeze.</summary>
    public int FreezeObserversAfterEpoch { get; init; }

    /// <summary>QAT epoch after which batch-norm statistics freeze.</summary>
    public int FreezeBatchNormAfterEpoch { get; init; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>Hidden layer sizes of the MLP.</summary>
    public int[] HiddenSizes { get; init; } = [];

    /// <summary>Weight decay.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Bins of the piecewise-linear feature encoding (<see cref="QatTrainerOptions.PiecewiseLinearBins"/>); 0: none, the trainer's default.</summary>
    public int PiecewiseLinearBins { get; init; }

    /// <summary>Copies these settings into <paramref name="options"/> (epochs as given are run exactly; null epochs are chosen from the data, with early stopping).</summary>
    public TOptions ApplyTo<TOptions>(TOptions options) where TOptions : QatTrainerOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Backend = Backend;
        options.QConfig = QConfig();
        options.LearningRate = LearningRate;
        options.NumberOfFloatEpochs = FloatEpochs;
        options.NumberOfEpochs = QatEpochs;
        if (FloatOptimizerSteps is { } floatSteps)
            options.FloatOptimizerSteps = floatSteps;
        if (QatOptimizerSteps is { } qatSteps)
            options.QatOptimizerSteps = qatSteps;
        options.FreezeObserversAfterEpoch = FreezeObserversAfterEpoch;
        options.FreezeBatchNormAfterEpoch = FreezeBatchNormAfterEpoch;
        options.BatchSize = BatchSize;
        options.Network = QatNetwork.Mlp(HiddenSizes);
        options.WeightDecay = WeightDecay;
        options.PiecewiseLinearBins = PiecewiseLinearBins;
        return options;
    }

    /// <summary>The backend's default QAT qconfig with this activation observer (weights as the backend has them).</summary>
    public QConfig QConfig()
    {
        var defaults = Quantization.QConfig.GetDefaultQat(Backend);
        bool reduceRange = Backend != QuantBackend.Qnnpack;
        var observer = Observer == QatObserverKind.MinMax
            ? MinMaxObserver.WithArgs()
            : MovingAverageMinMaxObserver.WithArgs(averagingConstant: (float)AveragingConstant);
        return new QConfig(FakeQuantize.WithArgs(observer, quantMin: 0, quantMax: 255, reduceRange: reduceRange), defaults.Weight);
    }

    /// <summary>The settings as a C# object initializer of trainer options, to paste into code, and the observer its QConfig uses.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"new Options {{ Backend = QuantBackend.{Backend}, LearningRate = {LearningRate:G4}, NumberOfFloatEpochs = {Epochs(FloatEpochs)}, NumberOfEpochs = {Epochs(QatEpochs)}, ") +
        (FloatOptimizerSteps is { } fs ? FormattableString.Invariant($"FloatOptimizerSteps = {fs}, ") : "") +
        (QatOptimizerSteps is { } qs ? FormattableString.Invariant($"QatOptimizerSteps = {qs}, ") : "") +
        FormattableString.Invariant($"FreezeObserversAfterEpoch = {FreezeObserversAfterEpoch}, FreezeBatchNormAfterEpoch = {FreezeBatchNormAfterEpoch}, BatchSize = {BatchSize}, ") +
        FormattableString.Invariant($"Network = QatNetwork.Mlp({string.Join(", ", HiddenSizes)}), WeightDecay = {WeightDecay:G4}") +
        (PiecewiseLinearBins > 0 ? FormattableString.Invariant($", PiecewiseLinearBins = {PiecewiseLinearBins}") : "") + " }" +
        FormattableString.Invariant($" with activation observer {Observer}{(Observer == QatObserverKind.MovingAverageMinMax ? FormattableString.Invariant($" (averaging constant {AveragingConstant:G3})") : "")} (ApplyTo sets QConfig)");

    private static string Epochs(int? epochs) => epochs?.ToString(CultureInfo.InvariantCulture) ?? "null";

    /// <summary>Value equality including the hidden sizes' contents.</summary>
    public bool Equals(QatTrialSettings? other) => other is not null && ToString() == other.ToString();

    /// <summary>A hash of <see cref="ToString"/>.</summary>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
