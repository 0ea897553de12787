using Qat.MLNet.Inference;

namespace Qat.MLNet.Onnx;

// The per-layer forms. QOperator: integer operators whose integers are the engine's (see OnnxForm). QDQ: a
// DequantizeLinear -> float operator -> QuantizeLinear group per layer, the pattern ONNX Runtime fuses into QLinearConv /
// QGemm and other runtimes read as int8.
internal sealed partial class QuantizedModelOnnxLowering
{
    /// <summary>
    /// Input channels a convolution is widened to (with zero-point channels and zero weights: the same integers): ONNX
    /// Runtime's integer convolution runs a 1-channel input (an image's first layer) at a third of the speed it runs 4
    /// (Fashion-MNIST CNN, batch 256: 5.2 ms against 3.2 ms, AMD EPYC, ORT 1.31.1).
    /// </summary>
    private const int MinimumConvChannels = 4;

    private void Conv(QuantizedConv2d c)
    {
        As4D(c.InputShape);
        int m = c.OutputShape.Channels, channels = c.InputShape.Channels, kernel = c.KernelHeight * c.KernelWidth;
        // Weights rebuilds the plain array from the packed form on every call: read it once.
        var plain = c.Weights;
        var weights = WeightTensor(plain, c.Input, m, channels / c.Groups, c.KernelHeight, c.KernelWidth);
        if (c.Groups == 1 && channels < MinimumConvChannels)
        {
            Settle();
            _x = Op("Pad", _x, Const("pads", OnnxTensor.Int64s([0, 0, 0, 0, 0, MinimumConvChannels - channels, 0, 0], 8)), ZeroPoint(_q.ZeroPoint));
            var wide = new sbyte[m * MinimumConvChannels * kernel];
            for (int o = 0; o < m; o++)
                Array.Copy(plain, o * channels * kernel, wide, o * MinimumConvChannels * kernel, channels * kernel);
            weights = WeightTensor(wide, c.Input, m, MinimumConvChannels, c.KernelHeight, c.KernelWidth);
        }
        OnnxAttribute[] attributes =
        [
            OnnxAttribute.Of("kernel_shape", c.KernelHeight, c.KernelWidth),
            OnnxAttribute.Of("strides", c.StrideH, c.StrideW),
            OnnxAttribute.Of("pads", c.PadH, c.PadW, c.PadH, c.PadW),
            OnnxAttribute.Of("dilations", c.DilationH, c.DilationW),
            OnnxAttribute.Of("group", (long)c.Groups),
        ];
        Weighted(c, weights, m, attributes, "Conv");
        _dims = [-1, m, c.OutputShape.Height, c.OutputShape.Width];
    }

    private void Linear(QuantizedLinear l)
    {
        int m = l.OutFeatures, k = l.InFeatures;
        if (_form == OnnxForm.Qdq)
        {
            As2D(k);
            Weighted(l, WeightTensor(l.Weights, l.Input, m, k), m, [OnnxAttribute.Of("transB", 1L)], "Gemm");
            _dims = [-1, m];
        }
        else if (_linearForm == OnnxLinearForm.Conv1x1)
        {
            As4D(new ActivationShape(k, 1, 1));
            Weighted(l, WeightTensor(l.Weights, l.Input, m, k, 1, 1), m, [OnnxAttribute.Of("kernel_shape", 1L, 1L)], "Conv");
            _dims = [-1, m, 1, 1];
        }
        else
        {
            As2D(k);
            MatMulInteger(l, m, k);
            _dims = [-1, m];
        }
    }

    /// <summary>
    /// Whether a layer's weights are written as uint8 (each int8 weight + 128, zero point 128: the same products) rather
    /// than int8. ONNX Runtime's u8 x s8 kernels on x86 CPUs without VNNI (AVX2, AMD EPYC Zen 3) add pairs of products in
    /// saturating int16 (vpmaddubsw): 255 x 127 x 2 overflows it, which is why fbgemm's reduce_range keeps activations to
    /// 7 bits (127 x 128 x 2 fits). Inputs of the full 8-bit range (qnnpack) therefore go out as u8 x u8, which every
    /// ONNX Runtime kernel computes exactly (a qnnpack MLP gave 21 output steps of error as s8 on AVX2, and none as u8).
    /// </summary>
    private static bool UnsignedWeights(QuantizationParameters input) => input.QuantMax - input.QuantMin > 127;

    /// <summary>The weights as int8, or as uint8 shifted by 128 for a full-range input (<see cref="UnsignedWeights"/>).</summary>
    private static OnnxTensor WeightTensor(sbyte[] weights, QuantizationParameters input, params long[] dims)
    {
        if (!UnsignedWeights(input))
            return OnnxTensor.Int8s(weights, dims);
        var shifted = new byte[weights.Length];
        for (int i = 0; i < weights.Length; i++)
            shifted[i] = (byte)(weights[i] + 128);
        return OnnxTensor.UInt8s(shifted, dims);
    }

    /// <summary>The weights' zero point, 0 as int8 or 128 as uint8 (<see cref="UnsignedWeights"/>): a scalar, or one per output channel.</summary>
    private static OnnxTensor WeightZeroPoint(QuantizationParameters input, int channels)
    {
        bool unsigned = UnsignedWeights(input);
        if (channels == 0)
            return unsigned ? OnnxTensor.UInt8(128) : OnnxTensor.Int8s([0]);
        return unsigned ? OnnxTensor.UInt8s(Enumerable.Repeat((byte)128, channels).ToArray(), channels) : OnnxTensor.Int8s(new sbyte[channels], channels);
    }

    /// <summary>A convolution or Linear with its int32 bias: QLinearConv (QOperator) or DQ -> Conv/Gemm [-> Relu] -> Q (QDQ).</summary>
    private void Weighted(QuantizedWeightedLayer layer, OnnxTensor weights, int outputs, OnnxAttribute[] attributes, string floatOp)
    {
        bool perChannel = layer.WeightScales.Length > 1;
        var weightScale = perChannel ? OnnxTensor.Floats(layer.WeightScales, outputs) : OnnxTensor.Float(layer.WeightScales[0]);
        var weightZero = WeightZeroPoint(layer.Input, perChannel ? outputs : 0);
        Settle();
        var (input, output) = (layer.Input, layer.Output);
        string y;
        if (_form == OnnxForm.QOperator)
        {
            y = Op("QLinearConv",
            [
                _x, Scale(input.Scale), ZeroPoint(input.ZeroPoint),
                Const("weight", weights), Const("weight_scale", weightScale), Const("weight_zero_point", weightZero),
                Scale(output.Scale), ZeroPoint(output.ZeroPoint),
                Const("bias", OnnxTensor.Int32s(layer.Bias, outputs)),
            ], attributes);
        }
        else
        {
            OnnxAttribute[] axis = perChannel ? [OnnxAttribute.Of("axis", 0L)] : [];
            string x = Op("DequantizeLinear", _x, Scale(input.Scale), ZeroPoint(input.ZeroPoint));
            string w = Op("DequantizeLinear", [Const("weight", weights), Const("weight_scale", weightScale), Const("weight_zero_point", weightZero)], axis);
            // The bias is int32 at scale input x weight, the form ONNX Runtime folds into the integer kernel.
            var biasScales = layer.WeightScales.Select(s => input.Scale * s).ToArray();
            var biasScale = perChannel ? OnnxTensor.Floats(biasScales, outputs) : OnnxTensor.Float(biasScales[0]);
            var biasZero = perChannel ? OnnxTensor.Int32s(new int[outputs], outputs) : OnnxTensor.Int32s([0]);
            string b = Op("DequantizeLinear", [Const("bias", OnnxTensor.Int32s(layer.Bias, outputs)), Const("bias_scale", biasScale), Const("bias_zero_point", biasZero)], axis);
            string f = Op(floatOp, [x, w, b], attributes);
            if (layer.FusedReLU)
                f = Op("Relu", f);
            y = Op("QuantizeLinear", f, Scale(output.Scale), ZeroPoint(output.ZeroPoint));
        }
        // The engine clamps to the output's range (7-bit with reduce_range) and, with a fused ReLU, at the zero point.
        int low = layer.FusedReLU ? Math.Max(output.QuantMin, output.ZeroPoint) : output.QuantMin;
        _x = y;
        Clamp(low, output.QuantMax);
        _q = output;
    }

    /// <summary>Linear as MatMulInteger, Add of the int32 bias, Cast, Mul by the engine's multipliers, QuantizeLinear at scale 1.</summary>
    private void MatMulInteger(QuantizedLinear l, int m, int k)
    {
        Settle();
        // Weights rebuilds the plain array from the packed form on every call: read it once (per element, it made the
        // export quadratic in the weights: seconds for a 784 x 256 layer).
        var weights = l.Weights;
        var transposed = new sbyte[weights.Length];
        for (int o = 0; o < m; o++)
            for (int i = 0; i < k; i++)
                transposed[i * m + o] = weights[o * k + i];
        string acc = Op("MatMulInteger", _x, Const("weight_t", WeightTensor(transposed, l.Input, k, m)), ZeroPoint(l.Input.ZeroPoint), Const("weight_zero_point", WeightZeroPoint(l.Input, 0)));
        acc = Op("Add", acc, Const("bias", OnnxTensor.Int32s(l.Bias, m)));
        string f = Op("Cast", [acc], [OnnxAttribute.Of("to", (long)OnnxElementType.Float)]);
        var requantizer = Requantizer.For(l.Input.Scale, WeightPacking.PerChannel(l.WeightScales, m), l.Output, l.FusedReLU);
        f = Op("Mul", f, Const("multiplier", OnnxTensor.Floats(requantizer.Multipliers, m)));
        string y = Op("QuantizeLinear", f, Const("one", OnnxTensor.Float(1f)), ZeroPoint(l.Output.ZeroPoint));
        _x = y;
        Clamp(requantizer.Low, requantizer.High);
        _q = l.Output;
    }

    private void MaxPool(QuantizedMaxPool2d p)
    {
        As4D(p.InputShape);
        OnnxAttribute[] attributes =
        [
            OnnxAttribute.Of("kernel_shape", p.KernelH, p.KernelW),
            OnnxAttribute.Of("strides", p.StrideH, p.StrideW),
            OnnxAttribute.Of("pads", Pads(p.InputShape, p.OutputShape, p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW)),
            OnnxAttribute.Of("dilations", p.DilationH, p.DilationW),
        ];
        // uint8 MaxPool (opset 12) keeps the levels; in QDQ form the DQ/Q pair around it is what ONNX Runtime removes.
        _x = _form == OnnxForm.QOperator ? Op("MaxPool", [_x], attributes) : AroundFloat("MaxPool", attributes, _q);
        _dims = [-1, p.OutputShape.Channels, p.OutputShape.Height, p.OutputShape.Width];
    }

    /// <summary>max(level, zero point): a clamp from below, merged with any pending one (both forms).</summary>
    private void ReLU(QuantizedReLU r) => Clamp(r.ZeroPoint, 255);

    private void AvgPool(QuantizedAvgPool2d p)
    {
        As4D(p.InputShape);
        Settle();
        var (input, output) = (p.InputShape, p.OutputShape);
        long[] pads = Pads(input, output, p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, 1, 1);
        var q = p.Quantization;
        if (_form == OnnxForm.QOperator)
        {
            // The engine sums (level - zero point) over the window and multiplies by the reciprocal of its divisor: a
            // depthwise ConvInteger of ones (padding contributes zero), then the per-position reciprocals, rounded at scale 1.
            int c = input.Channels;
            var ones = Enumerable.Repeat((sbyte)1, c * p.KernelH * p.KernelW).ToArray();
            string acc = Op("ConvInteger", [_x, Const("ones", OnnxTensor.Int8s(ones, c, 1, p.KernelH, p.KernelW)), ZeroPoint(q.ZeroPoint), Const("ones_zero_point", OnnxTensor.Int8s([0]))],
            [
                OnnxAttribute.Of("kernel_shape", p.KernelH, p.KernelW),
                OnnxAttribute.Of("strides", p.StrideH, p.StrideW),
                OnnxAttribute.Of("pads", pads),
                OnnxAttribute.Of("group", (long)c),
            ]);
            string f = Op("Cast", [acc], [OnnxAttribute.Of("to", (long)OnnxElementType.Float)]);
            f = Op("Mul", f, Const("inv_divisor", OnnxTensor.Floats(InverseDivisors(p), 1, 1, output.Height, output.Width)));
            string y = Op("QuantizeLinear", f, Const("one", OnnxTensor.Float(1f)), ZeroPoint(q.ZeroPoint));
            _x = y;
            Clamp(q.QuantMin, q.QuantMax);
        }
        else
        {
            // In levels (scale 1 around the pool) the float average is the engine's integer one: the window sum is exact,
            // and so is its division where the divisor is the same everywhere (ONNX Runtime fuses this group into its
            // integer average pool). Elsewhere (ceil-mode or uncounted padding, a divisor override) the window sum is
            // recovered exactly (AveragePool counting every position, times the window size, rounded) and multiplied by
            // the engine's per-position reciprocal.
            var inverse = InverseDivisors(p);
            bool constant = inverse.All(v => v == inverse[0]) && p.DivisorOverride is null
                && pads[2] == p.PadH && pads[3] == p.PadW;
            int window = p.KernelH * p.KernelW;
            OnnxAttribute[] attributes =
            [
                OnnxAttribute.Of("kernel_shape", p.KernelH, p.KernelW),
                OnnxAttribute.Of("strides", p.StrideH, p.StrideW),
                OnnxAttribute.Of("pads", pads),
                // Padding counts: every window then divides by its full size (the constant case has no padding inside a window
                // the engine leaves out), which the non-constant case multiplies back.
                OnnxAttribute.Of("count_include_pad", 1L),
            ];
            string x = Op("DequantizeLinear", _x, Const("one", OnnxTensor.Float(1f)), ZeroPoint(q.ZeroPoint));
            x = Op("AveragePool", [x], attributes);
            if (!constant)
            {
                x = Op("Mul", x, Const("window", OnnxTensor.Float(window)));
                x = Op("Round", x);
                x = Op("Mul", x, Const("inv_divisor", OnnxTensor.Floats(inverse, 1, 1, output.Height, output.Width)));
            }
            x = Op("QuantizeLinear", x, Const("one", OnnxTensor.Float(1f)), ZeroPoint(q.ZeroPoint));
            _x = x;
            Clamp(q.QuantMin, q.QuantMax);
        }
        _q = q;
        _dims = [-1, output.Channels, output.Height, output.Width];
    }

    /// <summary>The reciprocal of the engine's divisor at each output position (QuantizedAvgPool2d's rule).</summary>
    private static float[] InverseDivisors(QuantizedAvgPool2d p)
    {
        var (input, output) = (p.InputShape, p.OutputShape);
        var inverse = new float[output.Height * output.Width];
        for (int y = 0; y < output.Height; y++)
        {
            int y0 = y * p.StrideH - p.PadH, y1 = Math.Min(y0 + p.KernelH, input.Height + p.PadH);
            int rows = Math.Min(y1, input.Height) - Math.Max(y0, 0);
            for (int x = 0; x < output.Width; x++)
            {
                int x0 = x * p.StrideW - p.PadW, x1 = Math.Min(x0 + p.KernelW, input.Width + p.PadW);
                int columns = Math.Min(x1, input.Width) - Math.Max(x0, 0);
                int divisor = p.DivisorOverride ?? (p.CountIncludePad ? (y1 - y0) * (x1 - x0) : rows * columns);
                inverse[y * output.Width + x] = 1f / divisor;
            }
        }
        return inverse;
    }

    /// <summary>DequantizeLinear -> <paramref name="floatOp"/> -> QuantizeLinear at <paramref name="q"/>.</summary>
    private string AroundFloat(string floatOp, OnnxAttribute[] attributes, QuantizationParameters q)
    {
        string x = Op("DequantizeLinear", _x, Scale(_q.Scale), ZeroPoint(_q.ZeroPoint));
        x = Op(floatOp, [x], attributes);
        return Op("QuantizeLinear", x, Scale(q.Scale), ZeroPoint(q.ZeroPoint));
    }
}
