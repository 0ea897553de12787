using System.Buffers.Binary;

namespace Qat.MLNet.Inference;

/// <summary>Reads <see cref="QuantizedModelFormat"/> version 1, refusing truncated, corrupted or hostile input with a clear message.</summary>
internal static class QuantizedModelReader
{
    private const int MaxLayers = 10_000;
    private const int MaxNameBytes = 4096;
    /// <summary>The largest dimension (channels, height, width, features, kernel) a file may declare.</summary>
    internal const int MaxDimension = 1 << 20;

    /// <summary>The largest element count of one shape or weight tensor a file may declare.</summary>
    internal const int MaxElements = 1 << 28;

    public static QuantizedModel Read(Stream stream)
    {
        Span<byte> header = stackalloc byte[QuantizedModelFormat.HeaderBytes];
        ReadExactly(stream, header, "the header");
        if (!header[..8].SequenceEqual(QuantizedModelFormat.Magic))
            throw Bad("it does not start with the Qat.MLNet model magic \"QATMLQM1\": this is not a saved QuantizedModel");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version < QuantizedModelFormat.OldestReadableVersion || version > QuantizedModelFormat.Version)
            throw Bad($"it has format version {version}; this library reads versions {QuantizedModelFormat.OldestReadableVersion} to {QuantizedModelFormat.Version}");
        long length = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (length <= 0 || length > QuantizedModelFormat.MaxPayloadBytes)
            throw Bad($"it declares a payload of {length} bytes (allowed: 1 to {QuantizedModelFormat.MaxPayloadBytes})");
        if (stream.CanSeek && length > stream.Length - stream.Position)
            throw Bad($"it is truncated: the payload needs {length} bytes, the stream has {stream.Length - stream.Position}");

        // Read and hash in chunks of at most 1 MiB, kept as they come: memory follows what the stream really holds (a
        // lying length on a non-seekable stream allocates nothing up front, and nothing is copied twice before the hash
        // is checked). Only a payload whose hash matches is made contiguous for parsing.
        var chunks = new List<byte[]>();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        long remaining = length;
        while (remaining > 0)
        {
            var chunk = new byte[(int)Math.Min(1 << 20, remaining)];
            int filled = 0;
            while (filled < chunk.Length)
            {
                int read = stream.Read(chunk, filled, chunk.Length - filled);
                if (read == 0)
                    throw Bad($"it is truncated: {remaining - filled} of {length} payload bytes are missing");
                filled += read;
            }
            hash.AppendData(chunk);
            chunks.Add(chunk);
            remaining -= chunk.Length;
        }
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(header[20..]))
            throw Bad("its checksum does not match: the file is corrupted");
        byte[] payload;
        if (chunks.Count == 1)
        {
            payload = chunks[0];
        }
        else
        {
            payload = new byte[length];
            long offset = 0;
            for (int i = 0; i < chunks.Count; i++)
            {
                chunks[i].CopyTo(payload, offset);
                offset += chunks[i].Length;
                chunks[i] = [];
            }
        }

        var r = new PayloadReader(payload);
        var inputShape = r.Shape("input shape");
        var input = r.QParams("input quantization");
        var output = r.QParams("output quantization");
        FeatureStandardization? standardization = null;
        if (version >= 2 && r.Bool("standardization flag"))
        {
            int n = inputShape.Size;
            r.Require(8L * n, "standardization");
            var mean = new float[n];
            var scale = new float[n];
            for (int i = 0; i < n; i++)
                mean[i] = r.Single("standardization mean");
            for (int i = 0; i < n; i++)
                scale[i] = r.Single("standardization scale");
            try
            {
                standardization = new FeatureStandardization(mean, scale);
            }
            catch (ArgumentException e)
            {
                throw Bad(e.Message);
            }
        }
        int count = r.Count("layer count", MaxLayers, 1);
        var layers = new List<QuantizedLayer>(count);
        for (int i = 0; i < count; i++)
            layers.Add(ReadLayer(ref r, i));
        if (!r.AtEnd)
            throw Bad($"{r.Remaining} bytes follow the last layer");
        try
        {
            return new QuantizedModel(inputShape, input, layers, output, standardization);
        }
        catch (ArgumentException e)
        {
            throw Bad(e.Message);
        }
    }

    private static QuantizedLayer ReadLayer(ref PayloadReader r, int index)
    {
        var kind = (QuantizedModelFormat.LayerKind)r.Byte($"layer {index} kind");
        int nameLength = r.Count($"layer {index} name length", MaxNameBytes, 1);
        string name = r.Utf8(nameLength, $"layer {index} name");
        var shape = r.Shape($"layer '{name}' input shape");
        var entry = QuantizedLayerCatalog.For(kind) ?? throw Bad($"layer {index} has unknown kind {(byte)kind}");
        try
        {
            return entry.Read(ref r, name, shape);
        }
        catch (ArgumentException e)
        {
            throw Bad($"layer '{name}': {e.Message}");
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = stream.Read(buffer[total..]);
            if (read == 0)
                throw Bad($"it is truncated: {what} needs {buffer.Length} bytes, the stream ended after {total}");
            total += read;
        }
    }

    internal static InvalidDataException Bad(string why) => new($"Cannot load the quantized model: {why}.");
}
