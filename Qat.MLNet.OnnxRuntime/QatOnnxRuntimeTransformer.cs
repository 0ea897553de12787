using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Scoring;

namespace Qat.MLNet.OnnxRuntime;

/// <summary>
/// A Qat transformer whose <c>Transform</c> scores its blocks of rows (256 at a time) with ONNX Runtime instead of the
/// managed int8 engine: the same columns and the same scores (ONNX Runtime runs the model's integer-form export, which
/// computes the engine's integers), faster at large batches. Prediction engines (one row per call) keep the managed
/// engine, which is faster there. Make it with <see cref="QatOnnxRuntimeExtensions.WithOnnxRuntime"/>.
/// </summary>
/// <remarks>
/// Saving writes the plain Qat transformer (the engine is a scoring choice, not part of the model): call
/// <c>WithOnnxRuntime()</c> again after <c>mlContext.Model.Load</c>. Dispose it to free the ONNX Runtime session.
/// </remarks>
public sealed class QatOnnxRuntimeTransformer : ITransformer, IDisposable
{
    private readonly OnnxRuntimeBlockScorer _scorer;

    internal QatOnnxRuntimeTransformer(QatTransformerBase inner, int threads)
    {
        Inner = inner;
        Threads = threads;
        _scorer = new OnnxRuntimeBlockScorer(inner.Model, threads);
    }

    /// <summary>The Qat transformer whose model ONNX Runtime runs (and which prediction engines and Save use).</summary>
    public QatTransformerBase Inner { get; }

    /// <summary>ONNX Runtime's intra-op threads for each block.</summary>
    public int Threads { get; }

    /// <summary>Always true: prediction engines score one row at a time with the managed engine.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The output schema: the Qat transformer's.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Inner.GetOutputSchema(inputSchema);

    /// <summary>The Qat transformer's row mapper (the managed engine: faster than ONNX Runtime for one row).</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Inner.GetRowToRowMapper(inputSchema);

    /// <summary>Lazily scores <paramref name="input"/>: blocks of rows through ONNX Runtime, non-finite rows as the Qat transformer treats them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(input, Inner.Bind(input.Schema, _scorer), Inner);
    }

    /// <summary>Saves the plain Qat transformer (see the remarks).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Inner).Save(ctx);

    /// <summary>Frees the ONNX Runtime session.</summary>
    public void Dispose() => _scorer.Dispose();
}
