using Qat.MLNet.Inference;

namespace Qat.MLNet.Onnx;

// Layers kept in float (mixed precision): DequantizeLinear -> float Conv/Gemm [-> Relu] -> quantize, in both forms. The
// float operators order their sums as they like, so a level may differ from the engine's by one where a value falls
// on a rounding edge.
internal sealed partial class QuantizedModelOnnxLowering
{
    private void FloatWeighted(FloatWeightedLayer layer)
    {
        string op;
        OnnxTensor weights;
        OnnxAttribute[] attributes;
        long[] outputDims;
        int m = layer.OutputShape.Channels;
        switch (layer)
        {
            case FloatConv2d c:
                As4D(c.InputShape);
                op = "Conv";
                weights = OnnxTensor.Floats(c.Weights, m, c.InputShape.Channels / c.Groups, c.KernelHeight, c.KernelWidth);
                attributes =
                [
                    OnnxAttribute.Of("kernel_shape", c.KernelHeight, c.KernelWidth),
                    OnnxAttribute.Of("strides", c.StrideH, c.StrideW),
                    OnnxAttribute.Of("pads", c.PadH, c.PadW, c.PadH, c.PadW),
                    OnnxAttribute.Of("dilations", c.DilationH, c.DilationW),
                    OnnxAttribute.Of("group", (long)c.Groups),
                ];
                outputDims = [-1, m, c.OutputShape.Height, c.OutputShape.Width];
                break;
            case FloatLinear l:
                m = l.OutFeatures;
                As2D(l.InFeatures);
                op = "Gemm";
                weights = OnnxTensor.Floats(l.Weights, m, l.InFeatures);
                attributes = [OnnxAttribute.Of("transB", 1L)];
                outputDims = [-1, m];
                break;
            default:
                throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX form: the model cannot be exported.");
        }
        Settle();
        string x = Op("DequantizeLinear", _x, Scale(layer.Input.Scale), ZeroPoint(layer.Input.ZeroPoint));
        string f = Op(op, [x, Const("weight", weights), Const("bias", OnnxTensor.Floats(layer.Bias, m))], attributes);
        if (layer.FusedReLU)
            f = Op("Relu", f);
        _x = Quantize(f, layer.Output);
        Clamp(layer.Output.QuantMin, layer.Output.QuantMax);
        _q = layer.Output;
        _dims = outputDims;
    }

    /// <summary>
    /// Quantizes a float variable as the engine does. QOperator: a multiply by the reciprocal of the scale, then a
    /// QuantizeLinear at scale 1 (the engine's two float steps); QDQ: one QuantizeLinear at the scale.
    /// </summary>
    private string Quantize(string x, QuantizationParameters q) => _form == OnnxForm.QOperator
        ? Op("QuantizeLinear", Op("Mul", x, Const("inv_scale", OnnxTensor.Float(1f / q.Scale))), Const("one", OnnxTensor.Float(1f)), ZeroPoint(q.ZeroPoint))
        : Op("QuantizeLinear", x, Scale(q.Scale), ZeroPoint(q.ZeroPoint));
}
