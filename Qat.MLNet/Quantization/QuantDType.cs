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
