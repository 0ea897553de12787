using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;

namespace Qat.MLNet.Training;

/// <summary>
/// Streams an IDataView in mini-batches of dense features and float labels: one cursor per pass, one batch of rows in
/// memory at a time (nothing else is copied unless the caller cached the data). Checks every row: feature vector size,
/// finite values, and the label (through the task). Not thread-safe.
/// </summary>
internal sealed class BatchReader
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _feature;
    private readonly DataViewSchema.Column? _label;
    private readonly TrainingTask _task;

    public BatchReader(IDataView data, DataViewSchema.Column feature, DataViewSchema.Column? label, TrainingTask task, int batchSize, int featureCount)
    {
        _data = data;
        _feature = feature;
        _label = label;
        _task = task;
        BatchSize = batchSize;
        FeatureCount = featureCount;
        Features = new float[checked(batchSize * featureCount)];
        Labels = new float[batchSize];
    }

    public int BatchSize { get; }

    public int FeatureCount { get; }

    /// <summary>The current batch's features, row-major; valid for the count the enumerator yielded.</summary>
    public float[] Features { get; }

    /// <summary>The current batch's labels (class index, 0/1 or value); valid for the count the enumerator yielded.</summary>
    public float[] Labels { get; }

    /// <summary>
    /// Fills <see cref="Features"/>/<see cref="Labels"/> batch after batch and yields each batch's row count.
    /// <paramref name="rand"/> non-null asks the data for a shuffled cursor.
    /// </summary>
    public IEnumerable<int> Batches(Random? rand = null, Action? checkAlive = null)
    {
        var columns = _label is { } l ? new[] { _feature, l } : new[] { _feature };
        using var cursor = _data.GetRowCursor(columns, rand);
        var features = cursor.GetGetter<VBuffer<float>>(_feature);
        var label = _label is { } lc ? _task.CreateLabelReader(cursor, lc) : null;
        var buffer = default(VBuffer<float>);
        int n = 0;
        while (cursor.MoveNext())
        {
            features(ref buffer);
            if (buffer.Length != FeatureCount)
                throw new InvalidOperationException(
                    $"Row {cursor.Position}: feature column '{_feature.Name}' has {buffer.Length} values; expected {FeatureCount}.");
            var row = Features.AsSpan(n * FeatureCount, FeatureCount);
            buffer.CopyTo(row);
            int bad = FeatureColumn.IndexOfNonFinite(row);
            if (bad >= 0)
                throw FeatureColumn.NonFinite(_feature.Name, cursor.Position, bad, row[bad]);
            if (label is not null)
                Labels[n] = label();
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
