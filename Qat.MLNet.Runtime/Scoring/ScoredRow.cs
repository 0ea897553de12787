using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>
/// A row of the output schema over an input row (or cursor): input columns pass through, the added columns are scored
/// by one <see cref="RowScorer"/> per row object. <see cref="ScoredCursor"/> moves the input and reads through this.
/// </summary>
internal sealed class ScoredRow : DataViewRow
{
    private readonly ScoringBinding _binding;
    private readonly DataViewRow _input;
    private readonly Delegate[]? _getters;
    private readonly bool[] _active;

    public ScoredRow(ScoringBinding binding, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        _binding = binding;
        _input = input;
        var active = activeColumns.ToArray();
        _active = new bool[binding.OutputSchema.Count];
        foreach (var column in active)
            _active[column.Index] = true;
        _getters = binding.CreateGetters(input, active);
    }

    public override DataViewSchema Schema => _binding.OutputSchema;

    public override long Position => _input.Position;

    public override long Batch => _input.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column)
    {
        _binding.CheckColumn(column);
        return _binding.IsOutput(column.Index) ? _active[column.Index] : _input.IsColumnActive(_binding.InputSchema[column.Index]);
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        _binding.CheckColumn(column);
        if (!_binding.IsOutput(column.Index))
            return _input.GetGetter<TValue>(_binding.InputSchema[column.Index]);
        if (!_active[column.Index] || _getters is null)
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made: add it to the columns needed.");
        return _getters[column.Index - _binding.InputSchema.Count] as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} does not match.");
    }
}
