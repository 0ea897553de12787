using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;

namespace Qat.MLNet.Scoring;

/// <summary>The lazy result of a Qat transformer's <c>Transform</c>: rows are scored only when a cursor reads them.</summary>
internal sealed class ScoredDataView : ITransformCanSaveOnnx
{
    private readonly IDataView _input;
    private readonly ScoringBinding _binding;

    private readonly ICanSaveModel _transformer;
    private readonly string _transformerName;

    public ScoredDataView(IDataView input, ScoringBinding binding, ICanSaveModel transformer)
    {
        _input = input;
        _binding = binding;
        _transformer = transformer;
        _transformerName = transformer.GetType().Name;
    }

    /// <summary>The scored data view (ML.NET's ONNX converter walks the pipeline back through it).</summary>
    public IDataView Source => _input;

    /// <summary>
    /// Always true: every layer the engine runs has an ONNX form, and <see cref="SaveAsOnnx"/> throws, naming the cause,
    /// where it cannot write the model. Returning false would make ML.NET warn and write a file without the model.
    /// </summary>
    public bool CanSaveOnnx(OnnxContext ctx) => true;

    /// <summary>Writes the int8 model and the output columns into ML.NET's ONNX graph.</summary>
    /// <exception cref="InvalidOperationException">A transform before this one has no ONNX form (the message names it).</exception>
    public void SaveAsOnnx(OnnxContext ctx)
    {
        // Where a transform upstream cannot be exported, ML.NET drops it and everything before it and feeds the raw
        // input columns to the rest: the model would score features the pipeline never gave it. Refuse instead.
        for (var view = _input; view is IDataTransform transform; view = transform.Source)
        {
            if (transform is not ITransformCanSaveOnnx exportable || !exportable.CanSaveOnnx(ctx))
                throw new InvalidOperationException(
                    $"{_transformerName} cannot be exported to ONNX: the pipeline before it contains {transform.GetType().Name}, which has no ONNX form, so the graph would feed the raw input columns to the model. Export a pipeline whose transforms all have an ONNX form, or apply that transform to the data before the exported part of the pipeline.");
        }
        _binding.SaveAsOnnx(ctx, _transformerName);
    }

    /// <summary>Saves the transformer that made this view (ML.NET's data-transform contract; models are saved with mlContext.Model.Save).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _transformer.Save(ctx);

    public bool CanShuffle => _input.CanShuffle;

    public DataViewSchema Schema => _binding.OutputSchema;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var columns = columnsNeeded.ToArray();
        return Cursor(_input.GetRowCursor(_binding.InputColumnsFor(columns), rand), columns, _binding.Threads);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var columns = columnsNeeded.ToArray();
        // Each cursor gets its own scorer; the int8 model itself is thread-safe.
        var inputs = _input.GetRowCursorSet(_binding.InputColumnsFor(columns), n, rand);
        // The cursors run on their own threads already: they share the scoring threads.
        int threads = Math.Max(1, _binding.Threads / Math.Max(1, inputs.Length));
        return inputs.Select(c => Cursor(c, columns, threads)).ToArray();
    }

    /// <summary>Scores in blocks when a score column is read; passes the input through when none is.</summary>
    private DataViewRowCursor Cursor(DataViewRowCursor input, DataViewSchema.Column[] columns, int threads) =>
        columns.Any(c => _binding.IsOutput(c.Index)) ? new BlockScoredCursor(_binding, input, columns, threads) : new ScoredCursor(_binding, input, columns);
}
