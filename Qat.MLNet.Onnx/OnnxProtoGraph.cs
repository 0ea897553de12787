using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.Data;
using Onnx;

namespace Qat.MLNet.Onnx;

/// <summary>
/// <see cref="IOnnxGraph"/> that builds OnnxSharp's generated ONNX classes (a <see cref="GraphProto"/>), for the standalone
/// export at opset 13 and later. Tensors are stored as little-endian raw data.
/// </summary>
internal sealed class OnnxProtoGraph : IOnnxGraph, IOnnxOutputColumns
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _nodes;

    public OnnxProtoGraph(int opsetVersion, string name)
    {
        OpsetVersion = opsetVersion;
        Graph = new GraphProto { Name = name };
    }

    /// <summary>The graph written so far.</summary>
    public GraphProto Graph { get; }

    /// <inheritdoc/>
    public int OpsetVersion { get; }

    /// <inheritdoc/>
    public string NewName(string prefix)
    {
        string name = prefix;
        for (int i = 0; !_names.Add(name); i++)
            name = prefix + "_" + i;
        return name;
    }

    /// <summary>Declares a float graph input [batch, <paramref name="size"/>] named <paramref name="name"/>.</summary>
    public string AddInput(string name, int size)
    {
        if (!_names.Add(name))
            throw new ArgumentException($"The input name '{name}' is already used in the graph.", nameof(name));
        Graph.Input.Add(ValueInfo(name, OnnxElementType.Float, size));
        return name;
    }

    /// <summary>Declares a float graph output [batch, <paramref name="size"/>] named <paramref name="name"/>.</summary>
    public void AddOutput(string name, int size) => Graph.Output.Add(ValueInfo(name, OnnxElementType.Float, size));

    /// <inheritdoc/>
    public string Constant(string prefix, OnnxTensor tensor)
    {
        string name = NewName(prefix);
        var proto = new TensorProto { Name = name, DataType = (int)tensor.Type, RawData = ByteString.CopyFrom(RawBytes(tensor)) };
        proto.Dims.AddRange(tensor.Dims);
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <inheritdoc/>
    public void Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_nodes++}", Domain = "" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var a in attributes)
        {
            var attribute = new AttributeProto { Name = a.Name };
            if (a.Int is { } i)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = i;
            }
            else if (a.Ints is { } ints)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints);
            }
            else if (a.Float is { } f)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = f;
            }
            node.Attribute.Add(attribute);
        }
        Graph.Node.Add(node);
    }

    /// <inheritdoc/>
    public string Declare(string columnName, DataViewType type)
    {
        if (!_names.Add(columnName))
            throw new InvalidOperationException($"The output column name '{columnName}' is used twice in the graph.");
        var itemType = type is VectorDataViewType vector ? vector.ItemType : type;
        int size = type is VectorDataViewType v ? v.Size : 1;
        var element = itemType switch
        {
            KeyDataViewType => OnnxElementType.UInt32,
            BooleanDataViewType => OnnxElementType.Bool,
            _ when itemType == NumberDataViewType.Single => OnnxElementType.Float,
            _ => throw new NotSupportedException($"No ONNX type for output column '{columnName}' of type {type}."),
        };
        Graph.Output.Add(ValueInfo(columnName, element, size));
        return columnName;
    }

    private static ValueInfoProto ValueInfo(string name, OnnxElementType type, int size)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = size });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static byte[] RawBytes(OnnxTensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The ONNX export writes little-endian raw tensor data and runs on little-endian CPUs only.");
        // By the declared element type, not the array's: the runtime lets an sbyte[] pass for a byte[].
        var values = tensor.Values;
        return tensor.Type switch
        {
            OnnxElementType.Float => MemoryMarshal.AsBytes(((float[])values).AsSpan()).ToArray(),
            OnnxElementType.Int32 => MemoryMarshal.AsBytes(((int[])values).AsSpan()).ToArray(),
            OnnxElementType.Int64 => MemoryMarshal.AsBytes(((long[])values).AsSpan()).ToArray(),
            OnnxElementType.Int8 => MemoryMarshal.AsBytes(((sbyte[])values).AsSpan()).ToArray(),
            OnnxElementType.UInt8 => ((byte[])values).ToArray(),
            _ => throw new ArgumentException($"No ONNX raw data for {tensor.Type}.", nameof(tensor)),
        };
    }
}
