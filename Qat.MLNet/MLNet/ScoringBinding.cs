using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;

namespace Qat.MLNet;

/// <summary>
/// A Qat transformer bound to one input schema: the output schema (every input column, then the task's output columns,
/// which hide input columns of the same names) and the getters that score a row with the int8 model.
/// </summary>
internal sealed class ScoringBinding
{
    private readonly QuantizedModel _model;
    private readonly QatTask _task;

    public ScoringBinding(DataViewSchema inputSchema, string featureColumnName, QuantizedModel model, QatTask task)
    {
        InputSchema = inputSchema;
        Feature = FeatureColumn.Find(inputSchema, featureColumnName, model.InputSize);
        _model = model;
        _task = task;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        task.AddOutputColumns(builder);
        OutputSchema = builder.ToSchema();
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    /// <summary>The feature column in the input schema.</summary>
    public DataViewSchema.Column Feature { get; }

    /// <summary>Whether an output-schema index is one of the added columns (else it is the input column with the same index).</summary>
    public bool IsOutput(int index) => index >= InputSchema.Count;

    /// <summary>The input columns needed to produce <paramref name="outputColumns"/>.</summary>
    public IEnumerable<DataViewSchema.Column> InputColumnsFor(IEnumerable<DataViewSchema.Column> outputColumns)
    {
        bool scoring = false;
        var needed = new List<DataViewSchema.Column>();
        foreach (var column in outputColumns)
        {
            if (IsOutput(column.Index))
                scoring = true;
            else
                needed.Add(InputSchema[column.Index]);
        }
        if (scoring && needed.All(c => c.Index != Feature.Index))
            needed.Add(Feature);
        return needed;
    }

    /// <summary>Getters of the added columns for rows of <paramref name="input"/>, or null when none is active.</summary>
    public Delegate[]? CreateGetters(DataViewRow input, IEnumerable<DataViewSchema.Column> activeOutputColumns) =>
        activeOutputColumns.Any(c => IsOutput(c.Index)) ? _task.CreateGetters(new RowScorer(_model, input, Feature)) : null;
}

/// <summary>A row of the output schema over an input row: input columns pass through, the added columns are scored.</summary>
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

    public override bool IsColumnActive(DataViewSchema.Column column) => ScoredGetters.IsActive(_binding, _input, _active, column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        ScoredGetters.Get<TValue>(_binding, _input, _active, _getters, column);
}

/// <summary>A cursor of the output schema over an input cursor (see <see cref="ScoredRow"/>).</summary>
internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly ScoringBinding _binding;
    private readonly DataViewRowCursor _input;
    private readonly Delegate[]? _getters;
    private readonly bool[] _active;

    public ScoredCursor(ScoringBinding binding, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> activeColumns)
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

    public override bool MoveNext() => _input.MoveNext();

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => ScoredGetters.IsActive(_binding, _input, _active, column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        ScoredGetters.Get<TValue>(_binding, _input, _active, _getters, column);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>What <see cref="ScoredRow"/> and <see cref="ScoredCursor"/> share: column activity and getters.</summary>
internal static class ScoredGetters
{
    public static bool IsActive(ScoringBinding binding, DataViewRow input, bool[] active, DataViewSchema.Column column)
    {
        CheckColumn(binding, column);
        return binding.IsOutput(column.Index) ? active[column.Index] : input.IsColumnActive(binding.InputSchema[column.Index]);
    }

    public static ValueGetter<TValue> Get<TValue>(ScoringBinding binding, DataViewRow input, bool[] active, Delegate[]? getters, DataViewSchema.Column column)
    {
        CheckColumn(binding, column);
        if (!binding.IsOutput(column.Index))
            return input.GetGetter<TValue>(binding.InputSchema[column.Index]);
        if (!active[column.Index] || getters is null)
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made: add it to the columns needed.");
        return getters[column.Index - binding.InputSchema.Count] as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} does not match.");
    }

    private static void CheckColumn(ScoringBinding binding, DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= binding.OutputSchema.Count || binding.OutputSchema[column.Index].Name != column.Name)
            throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' (index {column.Index}) is not a column of this row's schema.");
    }
}
