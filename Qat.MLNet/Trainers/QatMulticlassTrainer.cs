using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;

namespace Qat.MLNet.Trainers;

/// <summary>
/// Trains a neural network for multiclass classification with quantization-aware training and returns a transformer that
/// scores it in 8-bit integers (create it with <c>mlContext.MulticlassClassification.Trainers.Qat(...)</c>).
/// </summary>
/// <remarks>
/// <para>The label must be a key (use <c>MapValueToKey</c>); the features a known-size vector of Single, normalized as for
/// any neural network. The network (<see cref="QatTrainerOptions.Network"/>) ends in one logit per class; training
/// minimises cross-entropy, its classes weighted alike by default (<see cref="Options.ClassWeighting"/>).</para>
/// <para>The recipe is PyTorch's eager-mode QAT: float epochs, then Conv+BN(+ReLU)/Conv+ReLU/Linear+ReLU fusion and
/// <c>prepare_qat</c> with the qconfig (fake quantization of weights and activations, straight-through gradients), QAT
/// epochs with observers and batch-norm statistics frozen after the given epochs, then <c>convert</c>: int8 weights, int32
/// biases, uint8 activations, batch norm folded. The int8 model's outputs stay within one quantization step of the
/// fake-quantized network's.</para>
/// <para>Output columns: <c>Score</c> (softmax probabilities) and <c>PredictedLabel</c> (key with the label's values).
/// <see cref="QatTransformerBase.TrainingReport"/> compares float, fake-quant and int8 accuracy.</para>
/// </remarks>
public sealed class QatMulticlassTrainer : QatTrainerBase<QatMulticlassTransformer>
{
    /// <summary>Options of <see cref="QatMulticlassTrainer"/>.</summary>
    public sealed class Options : QatTrainerOptions
    {
        /// <summary>
        /// How each class's rows weigh in the training loss. Default <see cref="QatClassWeighting.Balanced"/>: a row of class c
        /// weighs <c>n / (C n_c)</c> of the training rows' class counts, so a class of 9 rows is learned as well as one of 76
        /// (macro accuracy), which on imbalanced data usually costs little or no micro accuracy; <see cref="QatClassWeighting.None"/>
        /// weighs every row 1 (the network then favours frequent classes). The validation loss that early stopping watches,
        /// and the losses of the training report, stay the unweighted cross-entropy.
        /// </summary>
        public QatClassWeighting ClassWeighting { get; set; } = QatDefaults.ClassWeighting;

        internal override void ValidateTaskOptions() =>
            Internal.Guard.InRange(Enum.IsDefined(ClassWeighting), nameof(ClassWeighting), ClassWeighting, "must be QatClassWeighting.Balanced or QatClassWeighting.None.");
    }

    internal QatMulticlassTrainer(IHostEnvironment env, Options options) : base(env, options, nameof(QatMulticlassTrainer))
    {
    }

    private protected override TrainingTask CreateTask(DataViewSchema.Column label) =>
        MulticlassTrainingTask.FromLabel(label, ((Options)TrainerOptions).ClassWeighting);

    private protected override IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label) => MulticlassScoringTask.OutputShape(label);

    private protected override QatMulticlassTransformer CreateTransformer(QuantizedModel model, string featureColumnName, TrainingTask task, QatTrainingReport report, ScoringSettings settings) =>
        new(model, featureColumnName, (MulticlassScoringTask)task.Scoring, report, settings);
}
