using Google.Protobuf;
using Onnx;
using Qat.MLNet.Inference;
using Qat.MLNet.Internal;
using Qat.MLNet.Scoring;

namespace Qat.MLNet.Onnx;

/// <summary>
/// Standalone ONNX export of Qat's int8 models at opset 13 and later (for ML.NET pipelines, opset 12, use
/// <c>mlContext.Model.ConvertToOnnx</c>, which Qat's transformers support without this package). The graph includes the
/// per-feature standardization and input quantization; a transformer's export also computes its output columns
/// (multiclass <c>Score</c> and 1-based <c>PredictedLabel</c>; binary <c>Score</c>, <c>Probability</c>,
/// <c>PredictedLabel</c>; regression <c>Score</c> in the label's units).
/// </summary>
public static class QatOnnxExporter
{
    private static readonly (int Opset, long IrVersion)[] IrVersions = [(13, 7), (15, 8), (19, 9), (21, 10)];

    /// <summary>Writes <paramref name="model"/> as ONNX: float input [batch, InputSize] to float output [batch, OutputSize].</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX form (the message names it); nothing is written.</exception>
    public static void ExportToOnnx(this QuantizedModel model, Stream stream, QatOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Build(model, options).WriteTo(stream);
    }

    /// <summary>Writes <paramref name="model"/> as ONNX to <paramref name="path"/>, replacing the file only once the export is complete.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX form; the file at <paramref name="path"/> is unchanged.</exception>
    public static void ExportToOnnx(this QuantizedModel model, string path, QatOnnxExportOptions? options = null)
    {
        var proto = Build(model, options);
        AtomicFile.Write(path, proto.WriteTo);
    }

    /// <summary>
    /// Writes <paramref name="transformer"/> as ONNX: the float input is named after its feature column, the outputs after
    /// its output columns (as <c>Transform</c> names them).
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX form; nothing is written.</exception>
    public static void ExportToOnnx(this QatTransformerBase transformer, Stream stream, QatOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Build(transformer, options).WriteTo(stream);
    }

    /// <summary>Writes <paramref name="transformer"/> as ONNX to <paramref name="path"/>, replacing the file only once the export is complete.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX form; the file at <paramref name="path"/> is unchanged.</exception>
    public static void ExportToOnnx(this QatTransformerBase transformer, string path, QatOnnxExportOptions? options = null)
    {
        var proto = Build(transformer, options);
        AtomicFile.Write(path, proto.WriteTo);
    }

    private static ModelProto Build(QuantizedModel model, QatOnnxExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = Checked(options);
        var graph = new OnnxProtoGraph(options.OpsetVersion, "qat_int8_model");
        string input = graph.AddInput(options.InputName, model.InputSize);
        string output = Lower(model, graph, input, options);
        graph.Node("Identity", [output], [options.OutputName]);
        graph.AddOutput(options.OutputName, model.OutputSize);
        return Model(graph);
    }

    private static ModelProto Build(QatTransformerBase transformer, QatOnnxExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        options = Checked(options);
        var graph = new OnnxProtoGraph(options.OpsetVersion, transformer.GetType().Name);
        string input = graph.AddInput(transformer.FeatureColumnName, transformer.Model.InputSize);
        string outputs = Lower(transformer.Model, graph, input, options);
        transformer.ScoringTask.WriteOnnx(graph, outputs, graph);
        return Model(graph);
    }

    private static QatOnnxExportOptions Checked(QatOnnxExportOptions? options)
    {
        options ??= new QatOnnxExportOptions();
        options.Validate();
        return options;
    }

    private static string Lower(QuantizedModel model, OnnxProtoGraph graph, string input, QatOnnxExportOptions options) =>
        QuantizedModelOnnxLowering.Write(model, graph, input, options.Form == QatOnnxForm.Qdq ? OnnxForm.Qdq : OnnxForm.QOperator, options.LinearForm);

    private static ModelProto Model(OnnxProtoGraph graph)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersions.Last(v => v.Opset <= graph.OpsetVersion).IrVersion,
            ProducerName = "Qat.MLNet",
            ProducerVersion = typeof(QatOnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = graph.OpsetVersion });
        return model;
    }
}
