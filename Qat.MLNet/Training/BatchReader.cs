using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;

namespace Qat.MLNet.Training;

/// <summary>
/// Streams an IDataView in mini-batches of dense features and float labels: one cursor per pass, one batch of rows in
/// memory at a time (nothing else is copied unless the caller cached the data). Checks every row: feature vector size,
/// finite values, and the label (through the task). Optionally keeps only some rows (by their row id, which ML.NET keeps
/// through shuffling: the holdout split) and standardizes the features with exactly the floats the int8 engine will
/// use. Not thread-safe.
/// </summary>
internal sealed class BatchReader
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _feature;
    private readonly DataViewSchema.Column? _label;
    private readonly TrainingTask _task;
    private readonly Func<DataViewRowId, bool>? _include;
    private readonly FeatureStandardization? _standardization;
    private readonly string _what;

    /// <summary>Creates the reader.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="feature">The feature column.</param>
    /// <param name="label">The label column, or null to read features only.</param>
    /// <param name="task">Reads and checks labels.</param>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="featureCount">Values per feature vector.</param>
    /// <param name="include">Keeps a row when true (by row id); null keeps every row.</param>
    /// <param name="standardization">Applied to the features after they are checked; null for none.</param>
    /// <param name="what">What the rows are, for messages ("training data", "validation set").</param>
    public BatchReader(IDataView data, DataViewSchema.Column feature, DataViewSchema.Column? label, TrainingTask task, int batchSize, int featureCount,
        Func<DataViewRowId, bool>? include = null, FeatureStandardization? standardization = null, string what = "training data")
    {
        _data = data;
        _feature = feature;
        _label = label;
        _task = task;
        _include = include;
        _standardization = standardization;
        _what = what;
        BatchSize = batchSize;
        FeatureCount = featureCount;
        Features = new float[checked(batchSize * featureCount)];
        Labels = new float[batchSize];
        Ids = new DataViewRowId[batchSize];
    }

    public int BatchSize { get; }

    public int FeatureCount { get; }

    /// <summary>The current batch's features, row-major; valid for the count the enumerator yielded.</summary>
    public float[] Features { get; }

    /// <summary>The current batch's labels (class index, 0/1 or value); valid for the count the enumerator yielded.</summary>
    public float[] Labels { get; }

    /// <summary>The current batch's row ids; valid for the count the enumerator yielded.</summary>
    public DataViewRowId[] Ids { get; }

    /// <summary>
    /// One pass over the rows, yielding the number of rows in each batch (the last may be short). <paramref name="rand"/>
    /// shuffles where the data can; <paramref name="checkAlive"/> runs after every batch (cancellation).
    /// </summary>
    /// <exception cref="InvalidOperationException">A bad row; the message names the row, the column and the fix.</exception>
    public IEnumerable<int> Batches(Random? rand = null, Action? checkAlive = null)
    {
        var columns = _label is { } l ? new[] { _feature, l } : new[] { _feature };
        using var cursor = _data.GetRowCursor(columns, rand);
        var features = cursor.GetGetter<VBuffer<float>>(_feature);
        var label = _label is { } lc ? _task.CreateLabelReader(cursor, lc) : null;
        var id = cursor.GetIdGetter();
        var buffer = default(VBuffer<float>);
        var rowId = default(DataViewRowId);
        int n = 0;
        while (cursor.MoveNext())
        {
            id(ref rowId);
            if (_include is not null && !_include(rowId))
                continue;
            features(ref buffer);
            if (buffer.Length != FeatureCount)
                throw new InvalidOperationException(
                    $"Row {cursor.Position} of the {_what}: feature column '{_feature.Name}' has {buffer.Length} values; expected {FeatureCount}.");
            var row = Features.AsSpan(n * FeatureCount, FeatureCount);
            buffer.CopyTo(row);
            int bad = NonFinite.IndexOf(row);
            if (bad >= 0)
                throw FeatureColumn.NonFinite(_feature.Name, cursor.Position, bad, row[bad], _what);
            _standardization?.Apply(row, row, 1);
            if (label is not null)
                Labels[n] = label();
            Ids[n] = rowId;
            if (++n == BatchSize)
            {
                yield return n;
                n = 0;
                checkAlive?.Invoke();
            }
        }
        if (n > 0)
            yield return n;
    }
}
