using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;

namespace Qat.MLNet.Trainers;

/// <summary>
/// Trains a neural network for regression with quantization-aware training and returns a transformer that scores it in
/// 8-bit integers (create it with <c>mlContext.Regression.Trainers.Qat(...)</c>).
/// </summary>
/// <remarks>
/// <para>The label must be Single and finite; the features a known-size vector of Single. Normalize features, and scale
/// labels to a moderate range (e.g. standardize): the output is dequantized from 8 bits, so its resolution is the range
/// the output observer saw divided by 255. The network ends in one output; training minimises mean squared error.</para>
/// <para>The QAT recipe is the one described on <see cref="QatMulticlassTrainer"/>. Output column: <c>Score</c>.</para>
/// </remarks>
public sealed class QatRegressionTrainer : QatTrainerBase<QatRegressionTransformer>
{
    /// <summary>Options of <see cref="QatRegressionTrainer"/>.</summary>
    public sealed class Options : QatTrainerOptions
    {
    }

    internal QatRegressionTrainer(IHostEnvironment env, Options options) : base(env, options, nameof(QatRegressionTrainer))
    {
    }

    private protected override TrainingTask CreateTask(DataViewSchema.Column label)
    {
        RegressionScoringTask.CheckLabelType(label.Name, label.Type);
        return RegressionTrainingTask.Instance;
    }

    private protected override IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label) => RegressionScoringTask.OutputShape(label);

    private protected override QatRegressionTransformer CreateTransformer(QuantizedModel model, string featureColumnName, TrainingTask task, QatTrainingReport report, ScoringSettings settings) =>
        new(model, featureColumnName, (RegressionScoringTask)task.Scoring, report, settings);
}
