using Microsoft.ML;
using Microsoft.ML.Model.OnnxConverter;
using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;

namespace Qat.MLNet.Scoring;

/// <summary>
/// A Qat transformer bound to one input schema: the output schema (every input column, then the task's output columns,
/// which hide input columns of the same names) and the getters that score a row with the int8 model.
/// </summary>
internal sealed class ScoringBinding
{
    private readonly QuantizedModel _model;
    private readonly ScoringTask _task;

    public ScoringBinding(DataViewSchema inputSchema, string featureColumnName, QuantizedModel model, ScoringTask task, NonFiniteFeatures nonFinite, int threads = 1,
        IBlockScorer? blockScorer = null)
    {
        NonFinite = nonFinite;
        Threads = threads;
        BlockScorer = blockScorer ?? new EngineBlockScorer(model);
        InputSchema = inputSchema;
        Feature = FeatureColumn.Find(inputSchema, featureColumnName, model.InputSize);
        _model = model;
        _task = task;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        task.AddOutputColumns(builder);
        OutputSchema = builder.ToSchema();
    }

    /// <summary>The non-finite feature policy; each cursor and engine takes its own copy (<see cref="NonFiniteFeatures.ForCursor"/>).</summary>
    public NonFiniteFeatures NonFinite { get; }

    /// <summary>Threads for all of a Transform's cursors together (each block is scored on its share).</summary>
    public int Threads { get; }

    /// <summary>What scores Transform's blocks of rows (the int8 engine unless another was plugged in).</summary>
    public IBlockScorer BlockScorer { get; }

    /// <summary>The int8 model.</summary>
    public QuantizedModel Model => _model;

    /// <summary>The task that turns outputs into columns.</summary>
    public ScoringTask Task => _task;

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    /// <summary>The feature column in the input schema.</summary>
    public DataViewSchema.Column Feature { get; }

    /// <summary>Whether an output-schema index is one of the added columns (else it is the input column with the same index).</summary>
    public bool IsOutput(int index) => index >= InputSchema.Count;

    /// <summary>Refuses a column that is not one of <see cref="OutputSchema"/>'s (a row or cursor of another schema).</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    public void CheckColumn(DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= OutputSchema.Count || OutputSchema[column.Index].Name != column.Name)
            throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' (index {column.Index}) is not a column of this row's schema.");
    }

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

    /// <summary>
    /// Writes the int8 model and the task's output columns into ML.NET's ONNX graph (<c>mlContext.Model.ConvertToOnnx</c>),
    /// in the integer-operator form at opset 12 (the most ML.NET writes).
    /// </summary>
    /// <exception cref="InvalidOperationException">The feature column is not in the graph (a transform before the trainer could not be exported).</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX form.</exception>
    public void SaveAsOnnx(OnnxContext ctx, string transformerName)
    {
        if (!ctx.ContainsColumn(Feature.Name))
            throw new InvalidOperationException(
                $"{transformerName} cannot be exported to ONNX: its feature column '{Feature.Name}' is not in the ONNX graph. A transform before it could not be exported (ML.NET logs which); export a pipeline whose transforms all have an ONNX form.");
        var graph = new MlNetOnnxGraph(ctx, transformerName);
        string outputs = QuantizedModelOnnxLowering.Write(_model, graph, ctx.GetVariableName(Feature.Name), OnnxForm.QOperator, ConvertToOnnxLinearForm);
        _task.WriteOnnx(graph, outputs, graph);
    }

    /// <summary>The Linear form ConvertToOnnx writes: the faster in ONNX Runtime 1.31 by the benchmarks' onnx command (README).</summary>
    internal const OnnxLinearForm ConvertToOnnxLinearForm = OnnxLinearForm.MatMulInteger;

    /// <summary>Getters of the added columns for rows of <paramref name="input"/>, or null when none is active.</summary>
    public Delegate[]? CreateGetters(DataViewRow input, IEnumerable<DataViewSchema.Column> activeOutputColumns) =>
        activeOutputColumns.Any(c => IsOutput(c.Index)) ? _task.CreateGetters(new RowScorer(_model, input, Feature, NonFinite.ForCursor())) : null;
}
