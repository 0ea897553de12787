using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Training;

/// <summary>
/// The training (and validation) data of one Fit, checked: the columns exist with the right types, and one pass over the
/// rows in their own order found no bad row (with the row number when there is one), at least one row, and labels the
/// task can learn from.
/// </summary>
internal sealed class TrainingData
{
    private TrainingData(TrainingTask task, IDataView data, DataViewSchema.Column feature, DataViewSchema.Column label, int featureCount, long rowCount, ValidationData? validation)
    {
        Task = task;
        Data = data;
        Feature = feature;
        Label = label;
        FeatureCount = featureCount;
        RowCount = rowCount;
        Validation = validation;
    }

    /// <summary>The task, made from the training label column (e.g. its class count).</summary>
    public TrainingTask Task { get; }

    public IDataView Data { get; }

    public DataViewSchema.Column Feature { get; }

    public DataViewSchema.Column Label { get; }

    public int FeatureCount { get; }

    public long RowCount { get; }

    public ValidationData? Validation { get; }

    /// <summary>Checks the data and scans it once (see the class summary).</summary>
    public static TrainingData Check(IHost host, IDataView data, QatTrainerOptions options, Func<DataViewSchema.Column, TrainingTask> createTask)
    {
        var (feature, label, featureCount) = Columns(data.Schema, options, "training data");
        var task = createTask(label);
        var counts = new Dictionary<float, long>();
        long rows = 0;
        var reader = new BatchReader(data, feature, label, task, 1024, featureCount);
        foreach (int n in reader.Batches(null, host.CheckAlive))
        {
            rows += n;
            if (task.HasAccuracy)
                for (int i = 0; i < n; i++)
                    counts[reader.Labels[i]] = counts.GetValueOrDefault(reader.Labels[i]) + 1;
        }
        if (rows == 0)
            throw new InvalidOperationException("The training data has no rows: there is nothing to train on. Check the file or the filters before the trainer.");
        task.CheckLabelCoverage(counts, label.Name);

        ValidationData? validation = null;
        if (options.ValidationSet is { } v)
        {
            var (vFeature, vLabel, vCount) = Columns(v.Schema, options, "validation set");
            if (vCount != featureCount)
                throw new ArgumentOutOfRangeException(nameof(options.ValidationSet),
                    $"Feature column '{feature.Name}' of the validation set has {vCount} values; the training data has {featureCount}.");
            if (!vLabel.Type.Equals(label.Type))
                throw new ArgumentOutOfRangeException(nameof(options.ValidationSet),
                    $"Label column '{label.Name}' of the validation set is {vLabel.Type}; the training data's is {label.Type}. " +
                    "Transform both with the same fitted pipeline (e.g. one MapValueToKey fitted on the training data).");
            validation = new ValidationData(v, vFeature, vLabel);
        }
        return new TrainingData(task, data, feature, label, featureCount, rows, validation);
    }

    /// <summary>The training data in a new order every cursor: the data's own shuffling if it has one, plus a pool.</summary>
    public IDataView Shuffled(IHostEnvironment env, int seed) =>
        new DataOperationsCatalog(env).ShuffleRows(Data, seed, QatDefaults.ShufflePoolSize, shuffleSource: true);

    private static (DataViewSchema.Column Feature, DataViewSchema.Column Label, int FeatureCount) Columns(
        DataViewSchema schema, QatTrainerOptions options, string what)
    {
        var feature = FeatureColumn.Find(schema, options.FeatureColumnName, null);
        var label = schema.GetColumnOrNull(options.LabelColumnName)
            ?? throw new ArgumentOutOfRangeException(options.LabelColumnName,
                $"Label column '{options.LabelColumnName}' not found in the {what}. It has: {FeatureColumn.ListColumns(schema)}.");
        return (feature, label, ((Microsoft.ML.Data.VectorDataViewType)feature.Type).Size);
    }
}
