using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>
/// The cursor of <c>Transform</c>'s output when a score column is read: it reads a block of up to
/// <see cref="BlockRows"/> input rows ahead (their features and every active input column), scores the block in one
/// engine call (the batched kernels, about twice the speed of one call per row), and serves the rows in order. Still
/// lazy: a block is read only when the previous one has been served. Prediction engines keep scoring one row per call
/// (<see cref="ScoredRow"/>).
/// </summary>
internal sealed class BlockScoredCursor : DataViewRowCursor, IScoredOutputs
{
    /// <summary>Rows scored per engine call.</summary>
    internal const int BlockRows = 256;

    private readonly ScoringBinding _binding;
    private readonly DataViewRowCursor _input;
    private readonly NonFiniteFeatures _nonFinite;
    private readonly bool[] _active;
    private readonly ColumnBlock?[] _columns;
    private readonly Delegate[] _outputGetters;
    private readonly ValueGetter<VBuffer<float>> _features;
    private readonly ValueGetter<DataViewRowId> _id;
    private readonly int _inputSize;
    private readonly int _outputSize;
    private readonly float[] _inputs;
    private readonly float[] _outputs;
    private readonly DataViewRowId[] _ids = new DataViewRowId[BlockRows];
    private readonly long[] _batches = new long[BlockRows];
    private readonly bool[] _bad = new bool[BlockRows];
    private VBuffer<float> _buffer;
    private int _count;
    private int _index = -1;
    private long _position = -1;
    private bool _done;

    private readonly int _threads;

    public BlockScoredCursor(ScoringBinding binding, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> activeColumns, int threads)
    {
        _binding = binding;
        _threads = threads;
        _input = input;
        _nonFinite = binding.NonFinite.ForCursor();
        _inputSize = binding.Model.InputSize;
        _outputSize = binding.Model.OutputSize;
        _inputs = new float[BlockRows * _inputSize];
        _outputs = new float[BlockRows * _outputSize];
        _active = new bool[binding.OutputSchema.Count];
        _columns = new ColumnBlock?[binding.InputSchema.Count];
        foreach (var column in activeColumns)
        {
            _active[column.Index] = true;
            if (!binding.IsOutput(column.Index))
                _columns[column.Index] = ColumnBlock.Create(input, binding.InputSchema[column.Index], BlockRows);
        }
        _features = input.GetGetter<VBuffer<float>>(binding.Feature);
        _id = input.GetIdGetter();
        _outputGetters = binding.Task.CreateGetters(this);
    }

    public override DataViewSchema Schema => _binding.OutputSchema;

    public override long Position => _position;

    public override long Batch => OnRow ? _batches[_index] : 0;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Outputs() => _outputs.AsSpan(Current() * _outputSize, _outputSize);

    public override bool MoveNext()
    {
        if (_index + 1 < _count)
        {
            _index++;
            _position++;
            return true;
        }
        if (_done || !FillBlock())
        {
            _done = true; // past the end: getters now refuse, as ML.NET's do
            return false;
        }
        _index = 0;
        _position++;
        return true;
    }

    private bool FillBlock()
    {
        _count = 0;
        while (_count < BlockRows && _input.MoveNext())
        {
            int slot = _count;
            foreach (var column in _columns)
                column?.Read(slot);
            _id(ref _ids[slot]);
            _batches[slot] = _input.Batch;
            ReadFeatures(slot);
            _count++;
        }
        if (_count == 0)
            return false;
        _binding.BlockScorer.Score(_inputs, _outputs, _count, _threads); // every row's size and values checked in ReadFeatures
        for (int r = 0; r < _count; r++)
        {
            if (_bad[r])
                _outputs.AsSpan(r * _outputSize, _outputSize).Fill(float.NaN);
        }
        return true;
    }

    private void ReadFeatures(int slot)
    {
        _features(ref _buffer);
        var target = _inputs.AsSpan(slot * _inputSize, _inputSize);
        var values = FeatureColumn.CheckedValues(_buffer, target, _binding.Feature.Name, _input.Position, _nonFinite, out bool finite);
        _bad[slot] = !finite;
        if (!finite)
            target.Clear(); // scored as zeros, then replaced by NaN: one bad row does not stop the block
        else
            values.CopyTo(target); // nothing to copy when the vector was sparse (densified into target already)
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId dst) => dst = _ids[Current()];

    public override bool IsColumnActive(DataViewSchema.Column column)
    {
        _binding.CheckColumn(column);
        return _active[column.Index];
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        _binding.CheckColumn(column);
        if (!_active[column.Index])
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made: add it to the columns needed.");
        var getter = _binding.IsOutput(column.Index)
            ? _outputGetters[column.Index - _binding.InputSchema.Count]
            : _columns[column.Index]!.Getter(Current);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} does not match.");
    }

    private bool OnRow => !_done && _index >= 0 && _index < _count;

    private int Current() => OnRow
        ? _index
        : throw new InvalidOperationException("The cursor is not on a row: call MoveNext first (and only read while it returns true).");


    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
