using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>A cursor of the output schema over an input cursor: moves the input, reads through a <see cref="ScoredRow"/>.</summary>
internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly DataViewRowCursor _input;
    private readonly ScoredRow _row;

    public ScoredCursor(ScoringBinding binding, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        _input = input;
        _row = new ScoredRow(binding, input, activeColumns);
    }

    public override DataViewSchema Schema => _row.Schema;

    public override long Position => _input.Position;

    public override long Batch => _input.Batch;

    public override bool MoveNext() => _input.MoveNext();

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => _row.IsColumnActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _row.GetGetter<TValue>(column);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
