namespace Qat.MLNet.Quantization;

/// <summary>
/// The integer type a tensor is quantized to (PyTorch: <c>torch.quint8</c>, <c>torch.qint8</c>, <c>torch.qint32</c>).
/// </summary>
public enum QuantDType
{
    /// <summary>Unsigned 8-bit, range [0, 255] (PyTorch <c>torch.quint8</c>); the usual activation type.</summary>
    QUInt8,

    /// <summary>Signed 8-bit, range [-128, 127] (PyTorch <c>torch.qint8</c>); the usual weight type.</summary>
    QInt8,

    /// <summary>Signed 32-bit, range [-2^31, 2^31 - 1] (PyTorch <c>torch.qint32</c>); used for biases.</summary>
    QInt32,
}

/// <summary>Facts about <see cref="QuantDType"/> values.</summary>
public static class QuantDTypeExtensions
{
    /// <summary>The smallest value the type holds (PyTorch: <c>torch.iinfo(dtype).min</c>).</summary>
    public static long MinValue(this QuantDType dtype) => dtype switch
    {
        QuantDType.QUInt8 => 0,
        QuantDType.QInt8 => -128,
        QuantDType.QInt32 => int.MinValue,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown QuantDType."),
    };

    /// <summary>The largest value the type holds (PyTorch: <c>torch.iinfo(dtype).max</c>).</summary>
    public static long MaxValue(this QuantDType dtype) => dtype switch
    {
        QuantDType.QUInt8 => 255,
        QuantDType.QInt8 => 127,
        QuantDType.QInt32 => int.MaxValue,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown QuantDType."),
    };

    /// <summary>PyTorch's name of the type, e.g. <c>quint8</c>.</summary>
    public static string TorchName(this QuantDType dtype) => dtype switch
    {
        QuantDType.QUInt8 => "quint8",
        QuantDType.QInt8 => "qint8",
        QuantDType.QInt32 => "qint32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown QuantDType."),
    };
}
