namespace Qat.MLNet.Onnx;

/// <summary>
/// What the ONNX lowering of a model needs from a graph under construction: fresh names, constant tensors and nodes of
/// the standard domain. Two implementations: ML.NET's <c>OnnxContext</c> (inside <c>mlContext.Model.ConvertToOnnx</c>,
/// opset 12 at most) and the Qat.MLNet.Onnx package's standalone writer (opset 13 and later).
/// </summary>
internal interface IOnnxGraph
{
    /// <summary>The opset of the standard domain the graph is written for.</summary>
    int OpsetVersion { get; }

    /// <summary>A variable name not used yet in the graph, starting with <paramref name="prefix"/>.</summary>
    string NewName(string prefix);

    /// <summary>Adds a constant tensor; returns its (unique) name.</summary>
    string Constant(string prefix, OnnxTensor tensor);

    /// <summary>Adds a node of the standard ("") domain.</summary>
    void Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes);
}
