namespace Qat.MLNet.Inference;

/// <summary>
/// The int8 layer kinds of the model file, in one table: each kind's byte, its layer type and how its fields are written
/// and read. <see cref="QuantizedModelWriter"/> and <see cref="QuantizedModelReader"/> hold no per-kind code; the
/// training side's table of supported operations (Qat.MLNet) names the kind each float layer becomes.
/// </summary>
/// <remarks>
/// Layer fields, after kind, name and input shape:
/// <code>
/// Linear     in, out (int32), fusedReLU (byte), scales (int32 count + f32s), bias (int32 x out), weights (sbyte x in*out),
///            input qparams, output qparams
/// Conv2d     out, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups (int32), fusedReLU (byte),
///            scales, bias (int32 x out), weights (sbyte x out*in/groups*kh*kw), input qparams, output qparams
/// MaxPool2d  kh, kw, strideH, strideW, padH, padW, dilationH, dilationW (int32), ceilMode (byte)
/// AvgPool2d  kh, kw, strideH, strideW, padH, padW (int32), ceilMode, countIncludePad (byte), divisor (int32, 0 = none), qparams
/// ReLU       zero point (int32)
/// Flatten    nothing
/// FloatLinear   in, out (int32), fusedReLU (byte), weights (f32 x in*out), bias (f32 x out), input qparams, output qparams
/// FloatConv2d   as Conv2d's integers and fusedReLU, then weights (f32 x out*in/groups*kh*kw), bias (f32 x out), input and output qparams
/// </code>
/// </remarks>
internal static class QuantizedLayerCatalog
{
    /// <summary>One kind: its byte in the file, the layer type, its writer and reader.</summary>
    internal sealed record Entry(QuantizedModelFormat.LayerKind Kind, Type LayerType, LayerWriter Write, LayerReader Read);

    /// <summary>Every kind the file format knows.</summary>
    public static IReadOnlyList<Entry> Entries { get; } =
    [
        new(QuantizedModelFormat.LayerKind.Linear, typeof(QuantizedLinear), WriteLinear, ReadLinear),
        new(QuantizedModelFormat.LayerKind.Conv2d, typeof(QuantizedConv2d), WriteConv, ReadConv),
        new(QuantizedModelFormat.LayerKind.MaxPool2d, typeof(QuantizedMaxPool2d), WriteMaxPool, ReadMaxPool),
        new(QuantizedModelFormat.LayerKind.AvgPool2d, typeof(QuantizedAvgPool2d), WriteAvgPool, ReadAvgPool),
        new(QuantizedModelFormat.LayerKind.ReLU, typeof(QuantizedReLU), (w, l) => w.Write(((QuantizedReLU)l).ZeroPoint), ReadReLU),
        new(QuantizedModelFormat.LayerKind.Flatten, typeof(QuantizedFlatten), (_, _) => { }, (ref PayloadReader _, string name, ActivationShape shape) => new QuantizedFlatten(name, shape)),
        new(QuantizedModelFormat.LayerKind.FloatLinear, typeof(FloatLinear), WriteFloatLinear, ReadFloatLinear),
        new(QuantizedModelFormat.LayerKind.FloatConv2d, typeof(FloatConv2d), WriteFloatConv, ReadFloatConv),
    ];

    /// <summary>The entry of <paramref name="layer"/>'s exact type.</summary>
    /// <exception cref="NotSupportedException">The type has no serialized form.</exception>
    public static Entry For(QuantizedLayer layer) =>
        Entries.FirstOrDefault(e => e.LayerType == layer.GetType())
        ?? throw new NotSupportedException($"Layer '{layer.Name}' of type {layer.GetType().Name} has no serialized form.");

    /// <summary>The entry of a kind byte read from a file, or null for an unknown byte.</summary>
    public static Entry? For(QuantizedModelFormat.LayerKind kind) => Entries.FirstOrDefault(e => e.Kind == kind);

    private static void WriteLinear(BinaryWriter w, QuantizedLayer layer)
    {
        var l = (QuantizedLinear)layer;
        WriteLinearSettings(w, l.InFeatures, l.OutFeatures, l.FusedReLU);
        WriteWeighted(w, l.WeightScales, l.Bias, l.Weights, l.Input, l.Output);
    }

    private static QuantizedLayer ReadLinear(ref PayloadReader r, string name, ActivationShape shape)
    {
        var (inF, outF, relu) = ReadLinearSettings(ref r, name);
        var (scales, bias, weights, inQ, outQ) = ReadWeighted(ref r, name, outF, checked((long)inF * outF));
        return new QuantizedLinear(name, inF, outF, weights, scales, bias, inQ, outQ, relu);
    }

    private static void WriteConv(BinaryWriter w, QuantizedLayer layer)
    {
        var c = (QuantizedConv2d)layer;
        WriteConvSettings(w, [c.OutputShape.Channels, c.KernelHeight, c.KernelWidth, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilationH, c.DilationW, c.Groups], c.FusedReLU);
        WriteWeighted(w, c.WeightScales, c.Bias, c.Weights, c.Input, c.Output);
    }

    private static QuantizedLayer ReadConv(ref PayloadReader r, string name, ActivationShape shape)
    {
        var c = ReadConvSettings(ref r, name, shape);
        var (scales, bias, weights, inQ, outQ) = ReadWeighted(ref r, name, c.OutChannels, c.WeightCount);
        return new QuantizedConv2d(name, shape, c.OutChannels, c.KernelH, c.KernelW, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilationH, c.DilationW, c.Groups,
            weights, scales, bias, inQ, outQ, c.FusedReLU);
    }

    /// <summary>The fields a convolution's kind (int8 or float) writes before its weights.</summary>
    private readonly record struct ConvSettings(int OutChannels, int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW,
        int DilationH, int DilationW, int Groups, bool FusedReLU, long WeightCount);

    private static void WriteConvSettings(BinaryWriter w, int[] settings, bool fusedReLU)
    {
        foreach (int v in settings)
            w.Write(v);
        w.Write(fusedReLU);
    }

    private static ConvSettings ReadConvSettings(ref PayloadReader r, string name, ActivationShape shape)
    {
        int outC = r.Dimension($"'{name}' out_channels");
        int kh = r.Dimension($"'{name}' kernel height"), kw = r.Dimension($"'{name}' kernel width");
        int sh = r.Dimension($"'{name}' stride"), sw = r.Dimension($"'{name}' stride");
        int ph = r.NonNegative($"'{name}' padding"), pw = r.NonNegative($"'{name}' padding");
        int dh = r.Dimension($"'{name}' dilation"), dw = r.Dimension($"'{name}' dilation");
        int groups = r.Dimension($"'{name}' groups");
        bool relu = r.Bool($"'{name}' relu flag");
        if (shape.Channels % groups != 0)
            throw QuantizedModelReader.Bad($"layer '{name}': {groups} groups do not divide {shape.Channels} channels");
        return new ConvSettings(outC, kh, kw, sh, sw, ph, pw, dh, dw, groups, relu, checked((long)outC * (shape.Channels / groups) * kh * kw));
    }

    /// <summary>The fields a Linear kind (int8 or float) writes before its weights.</summary>
    private static void WriteLinearSettings(BinaryWriter w, int inFeatures, int outFeatures, bool fusedReLU)
    {
        w.Write(inFeatures);
        w.Write(outFeatures);
        w.Write(fusedReLU);
    }

    private static (int InFeatures, int OutFeatures, bool FusedReLU) ReadLinearSettings(ref PayloadReader r, string name) =>
        (r.Dimension($"'{name}' in_features"), r.Dimension($"'{name}' out_features"), r.Bool($"'{name}' relu flag"));

    private static void WriteFloatLinear(BinaryWriter w, QuantizedLayer layer)
    {
        var l = (FloatLinear)layer;
        WriteLinearSettings(w, l.InFeatures, l.OutFeatures, l.FusedReLU);
        WriteFloatWeighted(w, l);
    }

    private static QuantizedLayer ReadFloatLinear(ref PayloadReader r, string name, ActivationShape shape)
    {
        var (inF, outF, relu) = ReadLinearSettings(ref r, name);
        var (weights, bias, inQ, outQ) = ReadFloatWeighted(ref r, name, outF, checked((long)inF * outF));
        return new FloatLinear(name, inF, outF, weights, bias, inQ, outQ, relu);
    }

    private static void WriteFloatConv(BinaryWriter w, QuantizedLayer layer)
    {
        var c = (FloatConv2d)layer;
        WriteConvSettings(w, [c.OutputShape.Channels, c.KernelHeight, c.KernelWidth, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilationH, c.DilationW, c.Groups], c.FusedReLU);
        WriteFloatWeighted(w, c);
    }

    private static QuantizedLayer ReadFloatConv(ref PayloadReader r, string name, ActivationShape shape)
    {
        var c = ReadConvSettings(ref r, name, shape);
        var (weights, bias, inQ, outQ) = ReadFloatWeighted(ref r, name, c.OutChannels, c.WeightCount);
        return new FloatConv2d(name, shape, c.OutChannels, c.KernelH, c.KernelW, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilationH, c.DilationW, c.Groups,
            weights, bias, inQ, outQ, c.FusedReLU);
    }

    private static void WriteFloatWeighted(BinaryWriter w, FloatWeightedLayer layer)
    {
        w.Write((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(layer.Weights.AsSpan()));
        w.Write((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(layer.Bias.AsSpan()));
        QuantizedModelWriter.WriteQ(w, layer.Input);
        QuantizedModelWriter.WriteQ(w, layer.Output);
    }

    private static (float[] Weights, float[] Bias, QuantizationParameters Input, QuantizationParameters Output) ReadFloatWeighted(
        ref PayloadReader r, string name, int outputs, long weightCount)
    {
        // Bounded by what is left of the payload (4 bytes each) before anything is allocated.
        if (weightCount > QuantizedModelReader.MaxElements / 4)
            throw QuantizedModelReader.Bad($"layer '{name}' declares {weightCount} float weights (at most {QuantizedModelReader.MaxElements / 4})");
        var weights = r.Singles((int)weightCount, $"'{name}' weights");
        var bias = r.Singles(outputs, $"'{name}' bias");
        return (weights, bias, r.QParams($"'{name}' input quantization"), r.QParams($"'{name}' output quantization"));
    }

    private static void WriteMaxPool(BinaryWriter w, QuantizedLayer layer)
    {
        var p = (QuantizedMaxPool2d)layer;
        foreach (int v in new[] { p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW })
            w.Write(v);
        w.Write(p.CeilMode);
    }

    private static QuantizedLayer ReadMaxPool(ref PayloadReader r, string name, ActivationShape shape)
    {
        int kh = r.Dimension("kernel"), kw = r.Dimension("kernel"), sh = r.Dimension("stride"), sw = r.Dimension("stride");
        int ph = r.NonNegative("padding"), pw = r.NonNegative("padding"), dh = r.Dimension("dilation"), dw = r.Dimension("dilation");
        return new QuantizedMaxPool2d(name, shape, kh, kw, sh, sw, ph, pw, dh, dw, r.Bool("ceil mode"));
    }

    private static void WriteAvgPool(BinaryWriter w, QuantizedLayer layer)
    {
        var p = (QuantizedAvgPool2d)layer;
        foreach (int v in new[] { p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW })
            w.Write(v);
        w.Write(p.CeilMode);
        w.Write(p.CountIncludePad);
        w.Write(p.DivisorOverride ?? 0);
        QuantizedModelWriter.WriteQ(w, p.Quantization);
    }

    private static QuantizedLayer ReadAvgPool(ref PayloadReader r, string name, ActivationShape shape)
    {
        int kh = r.Dimension("kernel"), kw = r.Dimension("kernel"), sh = r.Dimension("stride"), sw = r.Dimension("stride");
        int ph = r.NonNegative("padding"), pw = r.NonNegative("padding");
        bool ceil = r.Bool("ceil mode"), includePad = r.Bool("count_include_pad");
        int divisor = r.NonNegative("divisor");
        return new QuantizedAvgPool2d(name, shape, kh, kw, sh, sw, ph, pw, ceil, includePad, divisor == 0 ? null : divisor, r.QParams("quantization"));
    }

    private static QuantizedLayer ReadReLU(ref PayloadReader r, string name, ActivationShape shape)
    {
        int zp = r.NonNegative("zero point");
        if (zp > 255)
            throw QuantizedModelReader.Bad($"layer '{name}': zero point {zp} is not a uint8 level");
        return new QuantizedReLU(name, shape, zp);
    }

    private static void WriteWeighted(BinaryWriter w, float[] scales, int[] bias, sbyte[] weights, QuantizationParameters input, QuantizationParameters output)
    {
        w.Write(scales.Length);
        foreach (var s in scales)
            w.Write(s);
        foreach (var b in bias)
            w.Write(b);
        w.Write((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        QuantizedModelWriter.WriteQ(w, input);
        QuantizedModelWriter.WriteQ(w, output);
    }

    private static (float[] Scales, int[] Bias, sbyte[] Weights, QuantizationParameters Input, QuantizationParameters Output) ReadWeighted(
        ref PayloadReader r, string name, int outputs, long weightCount)
    {
        int scaleCount = r.Count($"'{name}' scale count", outputs, 4);
        if (scaleCount != 1 && scaleCount != outputs)
            throw QuantizedModelReader.Bad($"layer '{name}' has {scaleCount} weight scales for {outputs} output channels");
        var scales = new float[scaleCount];
        for (int i = 0; i < scaleCount; i++)
        {
            scales[i] = r.Single($"'{name}' weight scale");
            if (!(float.IsFinite(scales[i]) && scales[i] > 0))
                throw QuantizedModelReader.Bad($"layer '{name}' has weight scale {scales[i]}");
        }
        r.Require(checked(outputs * 4L), $"'{name}' bias");
        var bias = new int[outputs];
        for (int i = 0; i < outputs; i++)
            bias[i] = r.Int32($"'{name}' bias");
        if (weightCount > QuantizedModelReader.MaxElements)
            throw QuantizedModelReader.Bad($"layer '{name}' declares {weightCount} weights (at most {QuantizedModelReader.MaxElements})");
        var weights = r.SBytes((int)weightCount, $"'{name}' weights");
        return (scales, bias, weights, r.QParams($"'{name}' input quantization"), r.QParams($"'{name}' output quantization"));
    }
}
