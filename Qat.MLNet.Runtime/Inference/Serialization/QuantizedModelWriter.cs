using System.Buffers.Binary;

namespace Qat.MLNet.Inference;

/// <summary>Writes a <see cref="QuantizedModel"/> in <see cref="QuantizedModelFormat"/>, at the lowest version that holds it.</summary>
/// <remarks>Each layer kind's own fields are written by its <see cref="QuantizedLayerCatalog"/> entry.</remarks>
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
            w.Write(model.Standardization is not null);
            if (model.Standardization is { } standardization)
            {
                foreach (float m in standardization.Mean)
                    w.Write(m);
                foreach (float s in standardization.Scale)
                    w.Write(s);
            }
            w.Write(model.Layers.Count);
            foreach (var layer in model.Layers)
                WriteLayer(w, layer);
        }
        var payload = payloadStream.GetBuffer().AsSpan(0, (int)payloadStream.Length);
        Span<byte> header = stackalloc byte[QuantizedModelFormat.HeaderBytes];
        QuantizedModelFormat.Magic.CopyTo(header);
        ushort version = model.Layers.Any(l => l is FloatWeightedLayer) ? QuantizedModelFormat.Version : QuantizedModelFormat.Int8OnlyVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], payload.Length);
        QuantizedModelFormat.Hash(payload).CopyTo(header[20..]);
        stream.Write(header);
        stream.Write(payload);
    }

    private static void WriteLayer(BinaryWriter w, QuantizedLayer layer)
    {
        var entry = QuantizedLayerCatalog.For(layer);
        Begin(w, entry.Kind, layer);
        entry.Write(w, layer);
    }

    private static void Begin(BinaryWriter w, QuantizedModelFormat.LayerKind kind, QuantizedLayer layer)
    {
        w.Write((byte)kind);
        var name = QuantizedModelFormat.StrictUtf8.GetBytes(layer.Name);
        w.Write(name.Length);
        w.Write(name);
        WriteShape(w, layer.InputShape);
    }

    private static void WriteShape(BinaryWriter w, ActivationShape s)
    {
        w.Write(s.Channels);
        w.Write(s.Height);
        w.Write(s.Width);
    }

    /// <summary>Writes scale, zero point, min and max.</summary>
    internal static void WriteQ(BinaryWriter w, QuantizationParameters q)
    {
        w.Write(q.Scale);
        w.Write(q.ZeroPoint);
        w.Write(q.QuantMin);
        w.Write(q.QuantMax);
    }
}
