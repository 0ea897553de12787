using Qat.MLNet.Inference;

namespace Qat.MLNet.Onnx;

/// <summary>
/// Writes a <see cref="QuantizedModel"/> into an ONNX graph: float features in ([N, inputs]), float outputs out
/// ([N, outputs], the engine's dequantized last layer). Per-feature standardization and input quantization are part of
/// the graph. Every layer kind the engine runs has a form here; any other layer makes the export throw, naming it.
/// </summary>
internal sealed partial class QuantizedModelOnnxLowering
{
    /// <summary>The lowest standard opset each form needs (uint8 MaxPool and Clip: 12; per-axis DequantizeLinear: 13).</summary>
    public static int MinimumOpset(OnnxForm form) => form == OnnxForm.QOperator ? 12 : 13;

    private readonly IOnnxGraph _g;
    private readonly OnnxForm _form;
    private readonly OnnxLinearForm _linearForm;

    // The uint8 tensor between layers, its quantization and its dimensions in the graph (-1 for the batch).
    private string _x = "";
    private QuantizationParameters _q;
    private long[] _dims = [];

    // A clamp of the levels not written yet. Clamps commute with MaxPool and reshapes, so it is written just before the
    // operator that needs it: the pooled tensor is smaller, and ONNX Runtime keeps a MaxPool that follows a QLinearConv
    // directly in its fast NHWC layout (a Clip in between leaves it in a slow NCHW one: 4.3 ms of 11 for the CNN).
    private int _clampLow;
    private int _clampHigh = 255;

    private QuantizedModelOnnxLowering(IOnnxGraph graph, OnnxForm form, OnnxLinearForm linearForm)
    {
        _g = graph;
        _form = form;
        _linearForm = linearForm;
    }

    /// <summary>Writes <paramref name="model"/> from the float variable <paramref name="features"/>; returns the float output variable.</summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX form, or the graph's opset is too low for the form.</exception>
    public static string Write(QuantizedModel model, IOnnxGraph graph, string features, OnnxForm form, OnnxLinearForm linearForm = OnnxLinearForm.Conv1x1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.OpsetVersion < MinimumOpset(form))
            throw new NotSupportedException(
                $"The int8 model needs ONNX opset {MinimumOpset(form)} or later in the {form} form; the export asked for opset {graph.OpsetVersion}.");
        foreach (var layer in model.Layers)
        {
            if (!Supports(layer))
                throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX form: the model cannot be exported.");
        }
        var lowering = new QuantizedModelOnnxLowering(graph, form, linearForm);
        lowering.Input(model, features);
        foreach (var layer in model.Layers)
            lowering.Layer(layer);
        return lowering.Output(model);
    }

    /// <summary>Whether <paramref name="layer"/>'s exact type has an ONNX form.</summary>
    public static bool Supports(QuantizedLayer layer) => layer is QuantizedLinear or QuantizedConv2d or QuantizedMaxPool2d
        or QuantizedAvgPool2d or QuantizedReLU or QuantizedFlatten or FloatLinear or FloatConv2d;

    private void Input(QuantizedModel model, string features)
    {
        string x = features;
        int n = model.InputSize;
        if (model.Standardization is { } s)
        {
            x = Op("Sub", x, Const("mean", OnnxTensor.Floats(s.Mean, n)));
            x = Op("Mul", x, Const("inv_std", OnnxTensor.Floats(s.Scale, n)));
        }
        var q = model.Input;
        _x = Quantize(x, q);
        Clamp(q.QuantMin, q.QuantMax);
        _q = q;
        _dims = [-1, n];
    }

    private string Output(QuantizedModel model)
    {
        As2D(model.OutputSize);
        Settle();
        return Op("DequantizeLinear", _x, Scale(model.Output.Scale), ZeroPoint(model.Output.ZeroPoint));
    }

    private void Layer(QuantizedLayer layer)
    {
        switch (layer)
        {
            case QuantizedConv2d conv:
                Conv(conv);
                break;
            case QuantizedLinear linear:
                Linear(linear);
                break;
            case QuantizedMaxPool2d pool:
                MaxPool(pool);
                break;
            case QuantizedAvgPool2d pool:
                AvgPool(pool);
                break;
            case QuantizedReLU relu:
                ReLU(relu);
                break;
            case FloatWeightedLayer floatLayer:
                FloatWeighted(floatLayer);
                break;
            case QuantizedFlatten:
                break; // a layout change only: the next layer reshapes what it reads
            default:
                throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX form: the model cannot be exported.");
        }
    }

    // ---- layout ----

    private void As4D(ActivationShape shape)
    {
        long[] dims = [-1, shape.Channels, shape.Height, shape.Width];
        if (!_dims.SequenceEqual(dims))
            Reshape(dims);
    }

    private void As2D(int size)
    {
        long[] dims = [-1, size];
        if (!_dims.SequenceEqual(dims))
            Reshape(dims);
    }

    private void Reshape(long[] dims)
    {
        _x = Op("Reshape", _x, Const("shape", OnnxTensor.Int64s(dims, dims.Length)));
        _dims = dims;
    }

    // ---- small helpers ----

    private string Op(string opType, params string[] inputs) => Op(opType, inputs, []);

    private string Op(string opType, string[] inputs, OnnxAttribute[] attributes)
    {
        string output = _g.NewName(opType);
        _g.Node(opType, inputs, [output], attributes);
        return output;
    }

    private string Const(string prefix, OnnxTensor tensor) => _g.Constant(prefix, tensor);

    private string Scale(float scale) => Const("scale", OnnxTensor.Float(scale));

    private string ZeroPoint(int zeroPoint) => Const("zero_point", OnnxTensor.UInt8(zeroPoint));

    /// <summary>Clamps the levels to [low, high] (a reduce_range or ReLU range narrower than uint8's), when next needed.</summary>
    private void Clamp(int low, int high)
    {
        if (Math.Max(_clampLow, low) > Math.Min(_clampHigh, high))
            Settle();
        _clampLow = Math.Max(_clampLow, low);
        _clampHigh = Math.Min(_clampHigh, high);
    }

    /// <summary>Writes the pending clamp (a uint8 Clip), if it is narrower than uint8.</summary>
    private void Settle()
    {
        if (_clampLow > 0 || _clampHigh < 255)
            _x = Op("Clip", _x, Const("low", OnnxTensor.UInt8(_clampLow)), Const("high", OnnxTensor.UInt8(_clampHigh)));
        (_clampLow, _clampHigh) = (0, 255);
    }

    /// <summary>ONNX pads [top, left, bottom, right] giving the engine's output size with floor rounding (ceil mode adds bottom/right padding).</summary>
    private static long[] Pads(ActivationShape input, ActivationShape output, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) =>
        [ph, pw, EndPad(input.Height, output.Height, kh, sh, ph, dh), EndPad(input.Width, output.Width, kw, sw, pw, dw)];

    private static long EndPad(int input, int output, int kernel, int stride, int pad, int dilation)
    {
        // Floor rounding of (input + pad + end - dilation * (kernel - 1) - 1) / stride + 1 must give output.
        long needed = (long)(output - 1) * stride + (long)dilation * (kernel - 1) + 1 - input - pad;
        return Math.Max(pad, needed);
    }
}
