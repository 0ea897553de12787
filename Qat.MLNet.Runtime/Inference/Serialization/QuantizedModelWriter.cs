using System.Buffers.Binary;

namespace Qat.MLNet.Inference;

/// <summary>Writes a <see cref="QuantizedModel"/> in <see cref="QuantizedModelFormat"/> version 1.</summary>
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
/// </code>
/// </remarks>
internal static class QuantizedModelWriter
{
    public static void Write(QuantizedModel model, Stream stream)
    {
        using var payloadStream = new MemoryStream();
        using (var w = new BinaryWriter(payloadStream, QuantizedModelFormat.StrictUtf8, leaveOpen: true))
        {
            WriteShape(w, model.InputShape);
            WriteQ(w, model.Input);
            WriteQ(w, model.Output);
            w.Write(model.Layers.Count);
            foreach (var layer in model.Layers)
                WriteLayer(w, layer);
        }
        var payload = payloadStream.GetBuffer().AsSpan(0, (int)payloadStream.Length);
        Span<byte> header = stackalloc byte[QuantizedModelFormat.HeaderBytes];
        QuantizedModelFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], QuantizedModelFormat.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], payload.Length);
        QuantizedModelFormat.Hash(payload).CopyTo(header[20..]);
        stream.Write(header);
        stream.Write(payload);
    }

    private static void WriteLayer(BinaryWriter w, QuantizedLayer layer)
    {
        switch (layer)
        {
            case QuantizedLinear l:
                Begin(w, QuantizedModelFormat.LayerKind.Linear, l);
                w.Write(l.InFeatures);
                w.Write(l.OutFeatures);
                w.Write(l.FusedReLU);
                WriteWeighted(w, l.WeightScales, l.Bias, l.Weights, l.Input, l.Output);
                break;
            case QuantizedConv2d c:
                Begin(w, QuantizedModelFormat.LayerKind.Conv2d, c);
                foreach (int v in new[] { c.OutputShape.Channels, c.KernelHeight, c.KernelWidth, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilationH, c.DilationW, c.Groups })
                    w.Write(v);
                w.Write(c.FusedReLU);
                WriteWeighted(w, c.WeightScales, c.Bias, c.Weights, c.Input, c.Output);
                break;
            case QuantizedMaxPool2d p:
                Begin(w, QuantizedModelFormat.LayerKind.MaxPool2d, p);
                foreach (int v in new[] { p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW })
                    w.Write(v);
                w.Write(p.CeilMode);
                break;
            case QuantizedAvgPool2d p:
                Begin(w, QuantizedModelFormat.LayerKind.AvgPool2d, p);
                foreach (int v in new[] { p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW })
                    w.Write(v);
                w.Write(p.CeilMode);
                w.Write(p.CountIncludePad);
                w.Write(p.DivisorOverride ?? 0);
                WriteQ(w, p.Quantization);
                break;
            case QuantizedReLU r:
                Begin(w, QuantizedModelFormat.LayerKind.ReLU, r);
                w.Write(r.ZeroPoint);
                break;
            case QuantizedFlatten f:
                Begin(w, QuantizedModelFormat.LayerKind.Flatten, f);
                break;
            default:
                throw new NotSupportedException($"Layer '{layer.Name}' of type {layer.GetType().Name} has no serialized form.");
        }
    }

    private static void Begin(BinaryWriter w, QuantizedModelFormat.LayerKind kind, QuantizedLayer layer)
    {
        w.Write((byte)kind);
        var name = QuantizedModelFormat.StrictUtf8.GetBytes(layer.Name);
        w.Write(name.Length);
        w.Write(name);
        WriteShape(w, layer.InputShape);
    }

    private static void WriteWeighted(BinaryWriter w, float[] scales, int[] bias, sbyte[] weights, QuantizationParameters input, QuantizationParameters output)
    {
        w.Write(scales.Length);
        foreach (var s in scales)
            w.Write(s);
        foreach (var b in bias)
            w.Write(b);
        w.Write((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        WriteQ(w, input);
        WriteQ(w, output);
    }

    private static void WriteShape(BinaryWriter w, ActivationShape s)
    {
        w.Write(s.Channels);
        w.Write(s.Height);
        w.Write(s.Width);
    }

    private static void WriteQ(BinaryWriter w, QuantizationParameters q)
    {
        w.Write(q.Scale);
        w.Write(q.ZeroPoint);
        w.Write(q.QuantMin);
        w.Write(q.QuantMax);
    }
}
