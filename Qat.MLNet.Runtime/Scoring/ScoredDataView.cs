using Microsoft.ML;

namespace Qat.MLNet.Scoring;

/// <summary>The lazy result of a Qat transformer's <c>Transform</c>: rows are scored only when a cursor reads them.</summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly IDataView _input;
    private readonly ScoringBinding _binding;

    public ScoredDataView(IDataView input, ScoringBinding binding)
    {
        _input = input;
        _binding = binding;
    }

    public bool CanShuffle => _input.CanShuffle;

    public DataViewSchema Schema => _binding.OutputSchema;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var columns = columnsNeeded.ToArray();
        return new ScoredCursor(_binding, _input.GetRowCursor(_binding.InputColumnsFor(columns), rand), columns);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var columns = columnsNeeded.ToArray();
        // Each cursor gets its own scorer; the int8 model itself is thread-safe.
        return _input.GetRowCursorSet(_binding.InputColumnsFor(columns), n, rand)
            .Select(c => (DataViewRowCursor)new ScoredCursor(_binding, c, columns)).ToArray();
    }
}
