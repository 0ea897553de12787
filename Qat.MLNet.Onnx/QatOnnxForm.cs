namespace Qat.MLNet.Onnx;

/// <summary>How <see cref="QatOnnxExporter"/> writes the int8 graph.</summary>
public enum QatOnnxForm
{
    /// <summary>
    /// QuantizeLinear/DequantizeLinear around float operators with per-channel weights (<c>axis</c>): the QDQ form that
    /// TensorRT, OpenVINO and ONNX Runtime (which fuses it into integer kernels) read. Outputs may differ from the int8
    /// engine's by an output quantization step where a float operator rounds differently.
    /// </summary>
    Qdq,

    /// <summary>
    /// Integer operators (QLinearConv, ConvInteger, MatMulInteger, uint8 MaxPool and Clip), the form
    /// <c>mlContext.Model.ConvertToOnnx</c> writes: the same integers as the int8 engine, for ONNX Runtime.
    /// </summary>
    IntegerOperators,
}
