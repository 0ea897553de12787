using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;

namespace Qat.MLNet.Onnx;

/// <summary>
/// <see cref="IOnnxGraph"/> over ML.NET's <c>OnnxContext</c>, the graph <c>mlContext.Model.ConvertToOnnx</c> builds.
/// ML.NET writes opset 12 at most, so the graph is written for 12: the context refuses a lower requested opset itself.
/// </summary>
internal sealed class MlNetOnnxGraph : IOnnxGraph, IOnnxOutputColumns
{
    private const string Prefix = "qat.";
    private readonly OnnxContext _ctx;

    /// <summary>Wraps <paramref name="ctx"/> after checking that its opset is at least 12 (ML.NET throws, naming the transformer).</summary>
    public MlNetOnnxGraph(OnnxContext ctx, string transformerName)
    {
        _ctx = ctx;
        ctx.CheckOpSetVersion(OpsetVersion, transformerName);
    }

    /// <inheritdoc/>
    public int OpsetVersion => 12;

    /// <inheritdoc/>
    // Temporaries are named "qat.*" so they cannot take the place of a data view column the pipeline maps.
    public string NewName(string prefix) => _ctx.AddIntermediateVariable(null, Prefix + prefix, skip: true);

    /// <inheritdoc/>
    public string Constant(string prefix, OnnxTensor tensor)
    {
        string name = Prefix + prefix;
        // By the declared element type, not the array's: the runtime lets an sbyte[] pass for a byte[].
        var values = tensor.Values;
        if (tensor.Dims.Length == 0)
        {
            // ML.NET's tensor overloads need dimensions; scalars have their own.
            return tensor.Type switch
            {
                OnnxElementType.Float => _ctx.AddInitializer(((float[])values)[0], name),
                OnnxElementType.Int64 => _ctx.AddInitializer(((long[])values)[0], name),
                OnnxElementType.UInt8 => _ctx.AddInitializer(((byte[])values)[0], typeof(byte), name),
                OnnxElementType.Int8 => _ctx.AddInitializer(((sbyte[])values)[0], typeof(sbyte), name),
                OnnxElementType.Int32 => _ctx.AddInitializer(((int[])values)[0], typeof(int), name),
                _ => throw new ArgumentException($"No ONNX initializer for {tensor.Type}.", nameof(tensor)),
            };
        }
        return tensor.Type switch
        {
            OnnxElementType.Float => _ctx.AddInitializer((float[])values, tensor.Dims, name),
            OnnxElementType.Int64 => _ctx.AddInitializer((long[])values, tensor.Dims, name),
            OnnxElementType.UInt8 => _ctx.AddInitializer(((byte[])values).Select(v => (int)v), typeof(byte), tensor.Dims, name),
            OnnxElementType.Int8 => _ctx.AddInitializer(((sbyte[])values).Select(v => (int)v), typeof(sbyte), tensor.Dims, name),
            OnnxElementType.Int32 => _ctx.AddInitializer((int[])values, typeof(int), tensor.Dims, name),
            _ => throw new ArgumentException($"No ONNX initializer for {tensor.Type}.", nameof(tensor)),
        };
    }

    /// <inheritdoc/>
    public void Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        // ML.NET's context defaults to the ai.onnx.ml domain: these are standard operators.
        var node = _ctx.CreateNode(opType, inputs, outputs, _ctx.GetNodeName(Prefix + opType), "");
        foreach (var a in attributes)
        {
            if (a.Int is { } i)
                node.AddAttribute(a.Name, i);
            else if (a.Ints is { } ints)
                node.AddAttribute(a.Name, ints);
            else if (a.Float is { } f)
                node.AddAttribute(a.Name, f);
        }
    }

    /// <inheritdoc/>
    public string Declare(string columnName, DataViewType type) => _ctx.AddIntermediateVariable(type, columnName);
}
