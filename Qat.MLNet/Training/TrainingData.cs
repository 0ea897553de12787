using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Training;

/// <summary>
/// The training (and validation) data of one Fit, checked: the columns exist with the right types, and one pass over the
/// rows in their own order found no bad row (with the row number when there is one), at least one row, and labels the
/// task can learn from. The same pass holds out the validation rows (when no validation set is given) and measures what
/// the trainer standardizes: the features (unless off) and, for regression, the label.
/// </summary>
internal sealed class TrainingData
{
    /// <summary>Above this magnitude unscaled features cannot share one 8-bit input scale with ordinary values.</summary>
    private const double MaximumUnscaledMagnitude = 1e6;

    private readonly HoldoutSplit? _holdout;

    private TrainingData(TrainingTask task, IDataView data, DataViewSchema.Column feature, DataViewSchema.Column label, int featureCount,
        long rowCount, ValidationData? validation, HoldoutSplit? holdout, FeatureStandardization? standardization, string validationDescription,
        PiecewiseLinearEncoding? encoding)
    {
        Encoding = encoding;
        Task = task;
        Data = data;
        Feature = feature;
        Label = label;
        FeatureCount = featureCount;
        RowCount = rowCount;
        Validation = validation;
        _holdout = holdout;
        Standardization = standardization;
        ValidationDescription = validationDescription;
    }

    /// <summary>The task, made from the training label column (e.g. its class count) and its label statistics.</summary>
    public TrainingTask Task { get; }

    /// <summary>All rows the caller gave, the held-out ones included.</summary>
    public IDataView Data { get; }

    public DataViewSchema.Column Feature { get; }

    public DataViewSchema.Column Label { get; }

    public int FeatureCount { get; }

    /// <summary>Rows the network trains on (held-out rows excluded).</summary>
    public long RowCount { get; }

    /// <summary>Held-out rows (0 with a validation set or without a holdout).</summary>
    public long HeldOutCount => _holdout?.HeldOutCount ?? 0;

    /// <summary>The validation set given in the options, or null.</summary>
    public ValidationData? Validation { get; }

    /// <summary>Whether there is validation data of either kind (early stopping needs it).</summary>
    public bool HasValidation => Validation is not null || HeldOutCount > 0;

    /// <summary>What the validation data is, for logs and the report.</summary>
    public string ValidationDescription { get; }

    /// <summary>The per-feature standardization of the training rows, or null when off.</summary>
    public FeatureStandardization? Standardization { get; }

    /// <summary>
    /// The piecewise-linear encoding in front of the network (<see cref="QatTrainerOptions.PiecewiseLinearBins"/>), its edges
    /// the quantiles of every training row (held-out ones included: the edges see features only, and so every member of an
    /// ensemble gets the same bins), on the network's input; null when off.
    /// </summary>
    public PiecewiseLinearEncoding? Encoding { get; }

    /// <summary>Keeps the rows the network trains on.</summary>
    public Func<Microsoft.ML.Data.DataViewRowId, bool>? TrainingRows => _holdout is { } h ? id => !h.IsHeldOut(id) : null;

    /// <summary>Keeps the held-out rows.</summary>
    public Func<Microsoft.ML.Data.DataViewRowId, bool>? HeldOutRows => _holdout is { } h ? h.IsHeldOut : null;

    public static TrainingData Check(IHost host, IDataView data, QatTrainerOptions options, Func<DataViewSchema.Column, TrainingTask> createTask, int seed)
    {
        var (feature, label, featureCount) = Columns(data.Schema, options, "training data");
        var task = createTask(label);

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

        // One pass in the data's own order: bad rows are found with their row numbers before any training; the same pass
        // picks the held-out rows and measures the moments of the rest (and of the held-out ones, in case the data turns
        // out too small to hold any out).
        var holdout = validation is null && options.ValidationFraction > 0 ? new HoldoutSplit(options.ValidationFraction, seed) : null;
        var kept = new TrainingStatistics(featureCount, task.HasAccuracy);
        var held = new TrainingStatistics(featureCount, task.HasAccuracy);
        // Up to 1024 rows per batch, but no more than about 16 MB of features: wide vectors get short batches.
        int checkRows = (int)Math.Clamp((1L << 22) / Math.Max(1, featureCount), 1, 1024);
        var reader = new BatchReader(data, feature, label, task, checkRows, featureCount);
        if (options.PiecewiseLinearBins > 0)
            CheckEncodingWidth(options, featureCount, feature.Name);
        var sample = options.PiecewiseLinearBins > 0 ? new RowSample(PiecewiseLinearEncoding.MaximumSampleRows, featureCount, seed) : null;
        foreach (int n in reader.Batches(null, host.CheckAlive))
        {
            for (int i = 0; i < n; i++)
            {
                float value = reader.Labels[i];
                bool isHeld = holdout is not null && holdout.Assign(reader.Ids[i], task.HasAccuracy ? value : 0f);
                var row = reader.Features.AsSpan(i * featureCount, featureCount);
                (isHeld ? held : kept).Add(row, value);
                sample?.Add(row);
            }
        }
        long total = kept.RowCount + held.RowCount;
        if (total == 0)
            throw new InvalidOperationException("The training data has no rows: there is nothing to train on. Check the file or the filters before the trainer.");
        var counts = new Dictionary<float, long>(kept.LabelCounts);
        foreach (var (value, count) in held.LabelCounts)
            counts[value] = counts.GetValueOrDefault(value) + count;
        task.CheckLabelCoverage(counts, label.Name);
        task = task.WithLabelCounts(counts);

        string validationDescription;
        if (validation is not null)
        {
            validationDescription = "validation set";
        }
        else if (holdout is not null && total >= QatDefaults.MinimumRowsForHoldout && kept.RowCount > 0)
        {
            validationDescription = FormattableString.Invariant($"held-out {options.ValidationFraction:P0} of the training rows ({held.RowCount} rows)");
        }
        else
        {
            validationDescription = options.ValidationFraction > 0
                ? string.Create(CultureInfo.InvariantCulture, $"none: {total} training rows are fewer than {QatDefaults.MinimumRowsForHoldout}, too few to hold any out")
                : "none: ValidationFraction is 0";
            if (holdout is not null)
            {
                kept.Add(held);
                holdout = null;
            }
        }
        var statistics = kept;
        bool standardize = options.FeatureScaling == QatFeatureScaling.Standardize
            || (options.FeatureScaling == QatFeatureScaling.Auto && !options.Network.ReadsImages);
        if (!standardize && statistics.MaximumMagnitude > MaximumUnscaledMagnitude)
            throw new InvalidOperationException(
                FormattableString.Invariant($"Feature column '{feature.Name}' holds values up to {statistics.MaximumMagnitude:G3} and is not standardized (FeatureScaling {options.FeatureScaling}") +
                (options.Network.ReadsImages ? ", an image network" : "") +
                FormattableString.Invariant($"): one input quantization step would be about {statistics.MaximumMagnitude / 127:G3}, so ordinary values ") +
                "would all quantize to the same level and the model would learn nothing. Normalize the features first (e.g. mlContext.Transforms.NormalizeMinMax) or set FeatureScaling = Standardize.");
        var standardization = standardize ? statistics.FeatureStandardization() : null;
        var encoding = sample is null ? null
            : PiecewiseLinearEncoding.OnInput(PiecewiseLinearEncoding.QuantileEdges(sample.Rows, featureCount, options.PiecewiseLinearBins), options.PiecewiseLinearBins, standardization);
        return new TrainingData(task.WithLabelStatistics(statistics.LabelMean, statistics.LabelStandardDeviation), data, feature, label, featureCount,
            statistics.RowCount, validation, holdout, standardization, validationDescription, encoding);
    }

    /// <summary>Refuses an encoding too wide for its second layer, before the pass over the data.</summary>
    private static void CheckEncodingWidth(QatTrainerOptions options, int featureCount, string featureName)
    {
        long units = (long)featureCount * (options.PiecewiseLinearBins + 1);
        if (units > PiecewiseLinearEncoding.MaximumUnits)
            throw new ArgumentOutOfRangeException(nameof(options.PiecewiseLinearBins), options.PiecewiseLinearBins,
                FormattableString.Invariant($"PiecewiseLinearBins {options.PiecewiseLinearBins} on the {featureCount} features of column '{featureName}' would make {units} encoding units; at most {PiecewiseLinearEncoding.MaximumUnits} ") +
                "(the encoding's second layer grows with their square). Use fewer bins, select fewer features, or set PiecewiseLinearBins to 0.");
    }

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
