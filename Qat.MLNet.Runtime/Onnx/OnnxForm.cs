namespace Qat.MLNet.Onnx;

/// <summary>How the int8 graph is written in ONNX.</summary>
internal enum OnnxForm
{
    /// <summary>
    /// Integer operators (QLinearConv, ConvInteger, MatMulInteger, uint8 MaxPool and Clip) at opset 12, the most
    /// ML.NET's converter writes. Each layer computes exactly the engine's integers: the requantization multiplier is
    /// the one the engine uses, and quantization divides by a scale of 1 after multiplying by the engine's reciprocal.
    /// </summary>
    QOperator,

    /// <summary>
    /// QuantizeLinear/DequantizeLinear around float operators, weights dequantized per channel (<c>axis</c>, opset 13+):
    /// the form TensorRT, OpenVINO and ONNX Runtime's QDQ fusion read. Rounding may differ from the engine's by a level
    /// where the float operators order their arithmetic differently.
    /// </summary>
    Qdq,
}

/// <summary>How a Linear layer is written in the <see cref="OnnxForm.QOperator"/> form (measured: benchmarks' onnx command).</summary>
internal enum OnnxLinearForm
{
    /// <summary>A 1x1 QLinearConv over [N, K, 1, 1] with its int32 bias: one operator per layer.</summary>
    Conv1x1,

    /// <summary>MatMulInteger, an int32 Add of the bias, Cast, Mul by the multiplier and QuantizeLinear.</summary>
    MatMulInteger,
}
