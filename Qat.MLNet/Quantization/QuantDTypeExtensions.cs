namespace Qat.MLNet.Quantization;

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
