using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Training;

/// <summary>
/// Streams an IDataView in mini-batches of dense features and float labels: one cursor per pass, one batch of rows in
/// memory at a time (nothing else is copied unless the caller cached the data). Checks every row: feature vector size,
/// finite values, and the label (through the task). Optionally keeps only some rows (by their row id, which ML.NET keeps
/// through shuffling: the holdout split) and standardizes the features with exactly the floats the int8 engine will
/// use. Shuffles, when asked, through the cursor (data that can shuffle itself) or through a pool of rows of its own
/// (<see cref="ShufflePool"/>), allocated once and reused by every pass. Not thread-safe.
/// </summary>
/// <remarks>
/// Why a pool of its own: ML.NET's <c>ShuffleRows</c> allocates its pool (pool rows + 47) anew for every cursor, so with
/// wide rows each epoch left tens of megabytes of large-object garbage (300 x 200,000 features: 55 MB a pass, 1.5 GB of
/// managed heap before a collection).
/// </remarks>
internal sealed class BatchReader
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _feature;
    private readonly DataViewSchema.Column? _label;
    private readonly TrainingTask _task;
    private readonly Func<DataViewRowId, bool>? _include;
    private readonly FeatureStandardization? _standardization;
    private readonly string _what;
    private readonly int _poolRows;
    private float[]? _poolFeatures;
    private float[]? _poolLabels;
    private DataViewRowId[]? _poolIds;

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
    /// <param name="shufflePool">Rows of the shuffle pool a shuffled pass goes through (see <see cref="ShufflePool"/>); 0 or 1 for none (the cursor's own order).</param>
    public BatchReader(IDataView data, DataViewSchema.Column feature, DataViewSchema.Column? label, TrainingTask task, int batchSize, int featureCount,
        Func<DataViewRowId, bool>? include = null, FeatureStandardization? standardization = null, string what = "training data", int shufflePool = 0)
    {
        _data = data;
        _feature = feature;
        _label = label;
        _task = task;
        _include = include;
        _standardization = standardization;
        _what = what;
        _poolRows = shufflePool;
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
    /// The shuffle pool for <paramref name="data"/>: 0 when it can shuffle itself (in memory, cached: its cursors visit the
    /// rows in a random order with no copy); otherwise <see cref="QatDefaults.ShufflePoolSize"/> rows, but no more than
    /// <see cref="QatDefaults.ShufflePoolBytes"/> of features and no fewer than 16 rows.
    /// </summary>
    public static int ShufflePool(IDataView data, int featureCount) => data.CanShuffle
        ? 0
        : (int)Math.Clamp(QatDefaults.ShufflePoolBytes / (sizeof(float) * Math.Max(1L, featureCount)), 16, QatDefaults.ShufflePoolSize);

    /// <summary>
    /// One pass over the rows, yielding the number of rows in each batch (the last may be short). <paramref name="rand"/>
    /// shuffles (through the cursor, or the pool when there is one); <paramref name="checkAlive"/> runs after every batch (cancellation).
    /// </summary>
    /// <exception cref="InvalidOperationException">A bad row; the message names the row, the column and the fix.</exception>
    public IEnumerable<int> Batches(Random? rand = null, Action? checkAlive = null)
    {
        using var rows = new RowSource(this, rand);
        var pool = rand is not null && _poolRows > 1 ? new PoolPass(rand) : null;
        int n = 0;
        while (pool is null ? NextInOrder(rows, n) : NextThroughPool(rows, pool, n))
        {
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

    /// <summary>Reads the cursor's next kept row into batch slot <paramref name="n"/>; false at the end.</summary>
    private bool NextInOrder(RowSource rows, int n)
    {
        if (!rows.MoveNext())
            return false;
        rows.Read(Features.AsSpan(n * FeatureCount, FeatureCount), out Labels[n], out Ids[n]);
        return true;
    }

    /// <summary>
    /// Puts the next row of a shuffled pass into batch slot <paramref name="n"/>, as ML.NET's pool does it: the pool fills
    /// first; then each new row takes the slot of a random pooled row, which goes to the batch; at the end of the data the
    /// pool empties in random order. False when the data and the pool are both empty.
    /// </summary>
    private bool NextThroughPool(RowSource rows, PoolPass pass, int n)
    {
        _poolFeatures ??= new float[checked(_poolRows * FeatureCount)];
        _poolLabels ??= new float[_poolRows];
        _poolIds ??= new DataViewRowId[_poolRows];
        while (!pass.Exhausted && pass.Live < _poolRows)
        {
            if (!rows.MoveNext())
            {
                pass.Exhausted = true;
                break;
            }
            int free = pass.Live;
            rows.Read(PoolRow(free), out _poolLabels[free], out _poolIds[free]);
            pass.Live = free + 1;
        }
        if (!pass.Exhausted && rows.MoveNext())
        {
            int slot = pass.Random.Next(_poolRows);
            TakeFromPool(slot, n);
            rows.Read(PoolRow(slot), out _poolLabels[slot], out _poolIds[slot]);
            return true;
        }
        pass.Exhausted = true;
        if (pass.Live == 0)
            return false;
        int taken = pass.Random.Next(pass.Live);
        TakeFromPool(taken, n);
        if (taken != --pass.Live)
            MovePoolRow(pass.Live, taken);
        return true;
    }

    /// <summary>The state of one shuffled pass through the pool: rows held, whether the data has ended, the pass's random.</summary>
    private sealed class PoolPass(Random random)
    {
        public Random Random { get; } = random;

        public int Live { get; set; }

        public bool Exhausted { get; set; }
    }

    private Span<float> PoolRow(int slot) => _poolFeatures.AsSpan(slot * FeatureCount, FeatureCount);

    private void TakeFromPool(int slot, int n)
    {
        PoolRow(slot).CopyTo(Features.AsSpan(n * FeatureCount, FeatureCount));
        Labels[n] = _poolLabels![slot];
        Ids[n] = _poolIds![slot];
    }

    private void MovePoolRow(int from, int to)
    {
        PoolRow(from).CopyTo(PoolRow(to));
        _poolLabels![to] = _poolLabels[from];
        _poolIds![to] = _poolIds[from];
    }

    /// <summary>One cursor over the kept rows: moves to the next included row and reads it, checked and standardized.</summary>
    private sealed class RowSource : IDisposable
    {
        private readonly BatchReader _reader;
        private readonly DataViewRowCursor _cursor;
        private readonly ValueGetter<VBuffer<float>> _features;
        private readonly Func<float>? _label;
        private readonly ValueGetter<DataViewRowId> _id;
        private VBuffer<float> _buffer;
        private DataViewRowId _rowId;

        public RowSource(BatchReader reader, Random? rand)
        {
            _reader = reader;
            var columns = reader._label is { } l ? new[] { reader._feature, l } : new[] { reader._feature };
            _cursor = reader._data.GetRowCursor(columns, rand);
            _features = _cursor.GetGetter<VBuffer<float>>(reader._feature);
            _label = reader._label is { } lc ? reader._task.CreateLabelReader(_cursor, lc) : null;
            _id = _cursor.GetIdGetter();
        }

        /// <summary>Moves to the next row the reader keeps; false at the end.</summary>
        public bool MoveNext()
        {
            while (_cursor.MoveNext())
            {
                _id(ref _rowId);
                if (_reader._include is null || _reader._include(_rowId))
                    return true;
            }
            return false;
        }

        /// <summary>Reads the current row into <paramref name="row"/> (checked, then standardized), its label and id.</summary>
        public void Read(Span<float> row, out float label, out DataViewRowId id)
        {
            _features(ref _buffer);
            if (_buffer.Length != _reader.FeatureCount)
                throw new InvalidOperationException(
                    $"Row {_cursor.Position} of the {_reader._what}: feature column '{_reader._feature.Name}' has {_buffer.Length} values; expected {_reader.FeatureCount}.");
            _buffer.CopyTo(row);
            int bad = NonFinite.IndexOf(row);
            if (bad >= 0)
                throw FeatureColumn.NonFinite(_reader._feature.Name, _cursor.Position, bad, row[bad], _reader._what);
            _reader._standardization?.Apply(row, row, 1);
            label = _label is null ? 0f : _label();
            id = _rowId;
        }

        public void Dispose() => _cursor.Dispose();
    }
}
