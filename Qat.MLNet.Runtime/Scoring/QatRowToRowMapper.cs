using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>The row-to-row mapper behind <c>CreatePredictionEngine</c>: scores one row at a time with the int8 model.</summary>
internal sealed class QatRowToRowMapper : IRowToRowMapper
{
    private readonly ScoringBinding _binding;

    public QatRowToRowMapper(ScoringBinding binding) => _binding = binding;

    public DataViewSchema InputSchema => _binding.InputSchema;

    public DataViewSchema OutputSchema => _binding.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) =>
        _binding.InputColumnsFor(dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        var feature = _binding.Feature;
        if (input.Schema.Count != _binding.InputSchema.Count || input.Schema[feature.Index].Name != feature.Name)
            throw new ArgumentException($"The row's schema is not the one this mapper was made for (feature column '{feature.Name}' at index {feature.Index}).", nameof(input));
        return new ScoredRow(_binding, input, activeColumns);
    }
}
