using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;

namespace Qat.MLNet.Trainers;

/// <summary>
/// Trains a neural network for binary classification with quantization-aware training and returns a transformer that
/// scores it in 8-bit integers (create it with <c>mlContext.BinaryClassification.Trainers.Qat(...)</c>).
/// </summary>
/// <remarks>
/// <para>The label must be Boolean; the features a known-size vector of Single, normalized as for any neural network. The
/// network ends in one logit; training minimises log-loss (<c>binary_cross_entropy_with_logits</c>).</para>
/// <para>The QAT recipe is the one described on <see cref="QatMulticlassTrainer"/>. Output columns, as ML.NET's binary
/// trainers: <c>Score</c> (the logit), <c>Probability</c> (sigmoid of the score) and <c>PredictedLabel</c> (score &gt; 0).</para>
/// </remarks>
public sealed class QatBinaryTrainer : QatTrainerBase<QatBinaryTransformer>
{
    /// <summary>Options of <see cref="QatBinaryTrainer"/>.</summary>
    public sealed class Options : QatTrainerOptions
    {
        /// <summary>
        /// Weight of the positive rows' loss against the negative rows' (PyTorch's <c>pos_weight</c>), positive: above 1
        /// when positives are rare (e.g. negatives / positives). Default 1.
        /// </summary>
        public double PositiveClassWeight { get; set; } = 1;

        internal override void ValidateTaskOptions() =>
            Internal.Guard.InRange(PositiveClassWeight > 0 && double.IsFinite(PositiveClassWeight), nameof(PositiveClassWeight), PositiveClassWeight, "must be a positive finite number.");
    }

    internal QatBinaryTrainer(IHostEnvironment env, Options options) : base(env, options, nameof(QatBinaryTrainer))
    {
    }

    private protected override TrainingTask CreateTask(DataViewSchema.Column label)
    {
        BinaryScoringTask.CheckLabelType(label.Name, label.Type);
        return new BinaryTrainingTask((float)((Options)TrainerOptions).PositiveClassWeight);
    }

    private protected override IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label) => BinaryScoringTask.OutputShape(label);

    private protected override QatBinaryTransformer CreateTransformer(QuantizedModel model, string featureColumnName, TrainingTask task, QatTrainingReport report, ScoringSettings settings) =>
        new(model, featureColumnName, (BinaryScoringTask)task.Scoring, report, settings);
}
