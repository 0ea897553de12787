using Microsoft.ML;
using Qat.MLNet.Scoring;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tasks;

/// <summary>
/// What differs between multiclass classification, binary classification and regression at training time: how the label
/// is read, the loss, the metrics, and what the labels must cover. The scoring half (output columns, persistence) is the
/// <see cref="ScoringTask"/> this task hands to the transformer, so the trainer and the transformer need no switch over tasks.
/// </summary>
internal abstract class TrainingTask
{
    /// <summary>The half of the task the transformer keeps.</summary>
    public abstract ScoringTask Scoring { get; }

    /// <summary>The task's name in messages, e.g. "multiclass classification".</summary>
    public string Name => Scoring.Name;

    /// <summary>The network's output count.</summary>
    public int OutputCount => Scoring.OutputCount;

    /// <summary>How the loss weighs rows, for the Fit's log line (e.g. ", classes weighted ..."); empty when every row weighs 1.</summary>
    public virtual string LossWeighting => "";

    /// <summary>Whether accuracy means something (classification).</summary>
    public abstract bool HasAccuracy { get; }

    /// <summary>A reader of the label of the cursor's current row, as the float the loss wants; throws on a missing label.</summary>
    public abstract Func<float> CreateLabelReader(DataViewRow row, DataViewSchema.Column label);

    /// <summary>Mean loss of a batch: <paramref name="outputs"/> [n, OutputCount], <paramref name="labels"/> float [n].</summary>
    public abstract Tensor Loss(Tensor outputs, Tensor labels);

    /// <summary>Adds one row's loss and correctness to <paramref name="sums"/>.</summary>
    public abstract void Accumulate(ReadOnlySpan<float> outputs, float label, ref MetricsAccumulator sums);

    /// <summary>
    /// This task configured with what the checking pass learned of the training labels (regression standardizes the
    /// label with their mean and deviation); the task itself when it needs nothing.
    /// </summary>
    public virtual TrainingTask WithLabelStatistics(double mean, double standardDeviation) => this;

    /// <summary>
    /// This task configured with the training rows' count per label value (the multiclass task's class weights); the task
    /// itself when it needs nothing. Called once the counts passed <see cref="CheckLabelCoverage"/>.
    /// </summary>
    public virtual TrainingTask WithLabelCounts(IReadOnlyDictionary<float, long> labelCounts) => this;

    /// <summary>Throws when the training labels cannot teach anything (e.g. one class only); <paramref name="labelCounts"/> counts rows per label value.</summary>
    public abstract void CheckLabelCoverage(IReadOnlyDictionary<float, long> labelCounts, string labelColumnName);

    /// <summary>log(1 + exp(x)) without overflow.</summary>
    protected static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));
}
