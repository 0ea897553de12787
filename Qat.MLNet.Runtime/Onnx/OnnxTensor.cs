namespace Qat.MLNet.Onnx;

/// <summary>The element types the lowering writes, with their ONNX <c>TensorProto.DataType</c> codes.</summary>
internal enum OnnxElementType
{
    /// <summary>float32.</summary>
    Float = 1,

    /// <summary>uint8 (activation levels).</summary>
    UInt8 = 2,

    /// <summary>int8 (weights).</summary>
    Int8 = 3,

    /// <summary>int32 (biases and accumulators).</summary>
    Int32 = 6,

    /// <summary>int64 (shapes, arg-max indices).</summary>
    Int64 = 7,

    /// <summary>bool (binary PredictedLabel).</summary>
    Bool = 9,

    /// <summary>uint32 (multiclass PredictedLabel, ML.NET's key type).</summary>
    UInt32 = 12,
}

/// <summary>A constant tensor: its element type, dimensions (empty for a scalar) and values in row-major order.</summary>
internal sealed class OnnxTensor
{
    private OnnxTensor(OnnxElementType type, long[] dims, Array values)
    {
        long count = dims.Aggregate(1L, (a, d) => a * d);
        if (count != values.Length)
            throw new ArgumentException($"A tensor of shape [{string.Join(", ", dims)}] holds {count} values, not {values.Length}.");
        Type = type;
        Dims = dims;
        Values = values;
    }

    /// <summary>The element type.</summary>
    public OnnxElementType Type { get; }

    /// <summary>The dimensions; empty for a scalar.</summary>
    public long[] Dims { get; }

    /// <summary>The values: float[], byte[], sbyte[], int[] or long[] by <see cref="Type"/>.</summary>
    public Array Values { get; }

    /// <summary>A float tensor.</summary>
    public static OnnxTensor Floats(float[] values, params long[] dims) => new(OnnxElementType.Float, dims, values);

    /// <summary>A float scalar.</summary>
    public static OnnxTensor Float(float value) => new(OnnxElementType.Float, [], new[] { value });

    /// <summary>A uint8 tensor.</summary>
    public static OnnxTensor UInt8s(byte[] values, params long[] dims) => new(OnnxElementType.UInt8, dims, values);

    /// <summary>A uint8 scalar.</summary>
    public static OnnxTensor UInt8(int value) => new(OnnxElementType.UInt8, [], new[] { checked((byte)value) });

    /// <summary>An int8 tensor.</summary>
    public static OnnxTensor Int8s(sbyte[] values, params long[] dims) => new(OnnxElementType.Int8, dims, values);

    /// <summary>An int32 tensor.</summary>
    public static OnnxTensor Int32s(int[] values, params long[] dims) => new(OnnxElementType.Int32, dims, values);

    /// <summary>An int64 tensor.</summary>
    public static OnnxTensor Int64s(long[] values, params long[] dims) => new(OnnxElementType.Int64, dims, values);
}

/// <summary>A node attribute: an int, a list of ints or a float.</summary>
internal sealed class OnnxAttribute
{
    private OnnxAttribute(string name, long? integer, long[]? integers, float? real)
    {
        Name = name;
        Int = integer;
        Ints = integers;
        Float = real;
    }

    /// <summary>The attribute's name.</summary>
    public string Name { get; }

    /// <summary>The value of an int attribute.</summary>
    public long? Int { get; }

    /// <summary>The value of an ints attribute.</summary>
    public long[]? Ints { get; }

    /// <summary>The value of a float attribute.</summary>
    public float? Float { get; }

    /// <summary>An int attribute.</summary>
    public static OnnxAttribute Of(string name, long value) => new(name, value, null, null);

    /// <summary>An ints attribute.</summary>
    public static OnnxAttribute Of(string name, params long[] values) => new(name, null, values, null);

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Of(string name, float value) => new(name, null, null, value);
}
