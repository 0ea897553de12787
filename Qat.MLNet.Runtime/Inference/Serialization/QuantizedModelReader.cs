using System.Buffers.Binary;

namespace Qat.MLNet.Inference;

/// <summary>Reads <see cref="QuantizedModelFormat"/> version 1, refusing truncated, corrupted or hostile input with a clear message.</summary>
internal static class QuantizedModelReader
{
    private const int MaxLayers = 10_000;
    private const int MaxNameBytes = 4096;
    private const int MaxDimension = 1 << 20;
    private const int MaxElements = 1 << 28;

    public static QuantizedModel Read(Stream stream)
    {
        Span<byte> header = stackalloc byte[QuantizedModelFormat.HeaderBytes];
        ReadExactly(stream, header, "the header");
        if (!header[..8].SequenceEqual(QuantizedModelFormat.Magic))
            throw Bad("it does not start with the Qat.MLNet model magic \"QATMLQM1\": this is not a saved QuantizedModel");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version != QuantizedModelFormat.Version)
            throw Bad($"it has format version {version}; this library reads version {QuantizedModelFormat.Version}");
        long length = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (length <= 0 || length > QuantizedModelFormat.MaxPayloadBytes)
            throw Bad($"it declares a payload of {length} bytes (allowed: 1 to {QuantizedModelFormat.MaxPayloadBytes})");
        if (stream.CanSeek && length > stream.Length - stream.Position)
            throw Bad($"it is truncated: the payload needs {length} bytes, the stream has {stream.Length - stream.Position}");

        // Read in chunks, so a lying length on a non-seekable stream cannot make us allocate it up front.
        using var payloadStream = new MemoryStream();
        var chunk = new byte[81920];
        long remaining = length;
        while (remaining > 0)
        {
            int read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, remaining));
            if (read == 0)
                throw Bad($"it is truncated: {remaining} of {length} payload bytes are missing");
            payloadStream.Write(chunk, 0, read);
            remaining -= read;
        }
        var payload = payloadStream.GetBuffer().AsSpan(0, (int)length);
        if (!QuantizedModelFormat.Hash(payload).AsSpan().SequenceEqual(header[20..]))
            throw Bad("its checksum does not match: the file is corrupted");

        var r = new PayloadReader(payload);
        var inputShape = r.Shape("input shape");
        var input = r.QParams("input quantization");
        var output = r.QParams("output quantization");
        int count = r.Count("layer count", MaxLayers, 1);
        var layers = new List<QuantizedLayer>(count);
        for (int i = 0; i < count; i++)
            layers.Add(ReadLayer(ref r, i));
        if (!r.AtEnd)
            throw Bad($"{r.Remaining} bytes follow the last layer");
        try
        {
            return new QuantizedModel(inputShape, input, layers, output);
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
        try
        {
            switch (kind)
            {
                case QuantizedModelFormat.LayerKind.Linear:
                {
                    int inF = r.Dimension($"'{name}' in_features");
                    int outF = r.Dimension($"'{name}' out_features");
                    bool relu = r.Bool($"'{name}' relu flag");
                    var (scales, bias, weights, inQ, outQ) = ReadWeighted(ref r, name, outF, checked((long)inF * outF));
                    return new QuantizedLinear(name, inF, outF, weights, scales, bias, inQ, outQ, relu);
                }
                case QuantizedModelFormat.LayerKind.Conv2d:
                {
                    int outC = r.Dimension($"'{name}' out_channels");
                    int kh = r.Dimension($"'{name}' kernel height"), kw = r.Dimension($"'{name}' kernel width");
                    int sh = r.Dimension($"'{name}' stride"), sw = r.Dimension($"'{name}' stride");
                    int ph = r.NonNegative($"'{name}' padding"), pw = r.NonNegative($"'{name}' padding");
                    int dh = r.Dimension($"'{name}' dilation"), dw = r.Dimension($"'{name}' dilation");
                    int groups = r.Dimension($"'{name}' groups");
                    bool relu = r.Bool($"'{name}' relu flag");
                    if (shape.Channels % groups != 0)
                        throw Bad($"layer '{name}': {groups} groups do not divide {shape.Channels} channels");
                    long weightCount = checked((long)outC * (shape.Channels / groups) * kh * kw);
                    var (scales, bias, weights, inQ, outQ) = ReadWeighted(ref r, name, outC, weightCount);
                    return new QuantizedConv2d(name, shape, outC, kh, kw, sh, sw, ph, pw, dh, dw, groups, weights, scales, bias, inQ, outQ, relu);
                }
                case QuantizedModelFormat.LayerKind.MaxPool2d:
                {
                    int kh = r.Dimension("kernel"), kw = r.Dimension("kernel"), sh = r.Dimension("stride"), sw = r.Dimension("stride");
                    int ph = r.NonNegative("padding"), pw = r.NonNegative("padding"), dh = r.Dimension("dilation"), dw = r.Dimension("dilation");
                    return new QuantizedMaxPool2d(name, shape, kh, kw, sh, sw, ph, pw, dh, dw, r.Bool("ceil mode"));
                }
                case QuantizedModelFormat.LayerKind.AvgPool2d:
                {
                    int kh = r.Dimension("kernel"), kw = r.Dimension("kernel"), sh = r.Dimension("stride"), sw = r.Dimension("stride");
                    int ph = r.NonNegative("padding"), pw = r.NonNegative("padding");
                    bool ceil = r.Bool("ceil mode"), includePad = r.Bool("count_include_pad");
                    int divisor = r.NonNegative("divisor");
                    return new QuantizedAvgPool2d(name, shape, kh, kw, sh, sw, ph, pw, ceil, includePad, divisor == 0 ? null : divisor, r.QParams("quantization"));
                }
                case QuantizedModelFormat.LayerKind.ReLU:
                {
                    int zp = r.NonNegative("zero point");
                    if (zp > 255)
                        throw Bad($"layer '{name}': zero point {zp} is not a uint8 level");
                    return new QuantizedReLU(name, shape, zp);
                }
                case QuantizedModelFormat.LayerKind.Flatten:
                    return new QuantizedFlatten(name, shape);
                default:
                    throw Bad($"layer {index} has unknown kind {(byte)kind}");
            }
        }
        catch (ArgumentException e)
        {
            throw Bad($"layer '{name}': {e.Message}");
        }
    }

    private static (float[] Scales, int[] Bias, sbyte[] Weights, QuantizationParameters Input, QuantizationParameters Output) ReadWeighted(
        ref PayloadReader r, string name, int outputs, long weightCount)
    {
        int scaleCount = r.Count($"'{name}' scale count", outputs, 4);
        if (scaleCount != 1 && scaleCount != outputs)
            throw Bad($"layer '{name}' has {scaleCount} weight scales for {outputs} output channels");
        var scales = new float[scaleCount];
        for (int i = 0; i < scaleCount; i++)
        {
            scales[i] = r.Single($"'{name}' weight scale");
            if (!(float.IsFinite(scales[i]) && scales[i] > 0))
                throw Bad($"layer '{name}' has weight scale {scales[i]}");
        }
        r.Require(checked(outputs * 4L), $"'{name}' bias");
        var bias = new int[outputs];
        for (int i = 0; i < outputs; i++)
            bias[i] = r.Int32($"'{name}' bias");
        if (weightCount > MaxElements)
            throw Bad($"layer '{name}' declares {weightCount} weights (at most {MaxElements})");
        var weights = r.SBytes((int)weightCount, $"'{name}' weights");
        return (scales, bias, weights, r.QParams($"'{name}' input quantization"), r.QParams($"'{name}' output quantization"));
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

    /// <summary>A bounds-checked cursor over the verified payload.</summary>
    private ref struct PayloadReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _position;

        public PayloadReader(ReadOnlySpan<byte> data)
        {
            _data = data;
            _position = 0;
        }

        public readonly bool AtEnd => _position == _data.Length;

        public readonly int Remaining => _data.Length - _position;

        public void Require(long bytes, string what)
        {
            if (bytes < 0 || bytes > Remaining)
                throw Bad($"{what} needs {bytes} bytes but only {Remaining} are left");
        }

        public byte Byte(string what)
        {
            Require(1, what);
            return _data[_position++];
        }

        public bool Bool(string what) => Byte(what) switch
        {
            0 => false,
            1 => true,
            var b => throw Bad($"{what} is {b}, not 0 or 1"),
        };

        public int Int32(string what)
        {
            Require(4, what);
            int v = BinaryPrimitives.ReadInt32LittleEndian(_data[_position..]);
            _position += 4;
            return v;
        }

        public float Single(string what)
        {
            Require(4, what);
            float v = BinaryPrimitives.ReadSingleLittleEndian(_data[_position..]);
            _position += 4;
            return v;
        }

        public int Count(string what, int max, int bytesPerItem)
        {
            int n = Int32(what);
            if (n < 0 || n > max)
                throw Bad($"{what} is {n} (allowed: 0 to {max})");
            Require((long)n * bytesPerItem, what);
            return n;
        }

        public int Dimension(string what)
        {
            int v = Int32(what);
            if (v <= 0 || v > MaxDimension)
                throw Bad($"{what} is {v} (allowed: 1 to {MaxDimension})");
            return v;
        }

        public int NonNegative(string what)
        {
            int v = Int32(what);
            if (v < 0 || v > MaxDimension)
                throw Bad($"{what} is {v} (allowed: 0 to {MaxDimension})");
            return v;
        }

        public ActivationShape Shape(string what)
        {
            var s = new ActivationShape(Dimension(what), Dimension(what), Dimension(what));
            if ((long)s.Channels * s.Height * s.Width > MaxElements)
                throw Bad($"{what} {s} has more than {MaxElements} elements");
            return s;
        }

        public QuantizationParameters QParams(string what)
        {
            var q = new QuantizationParameters(Single(what), Int32(what), Int32(what), Int32(what));
            try
            {
                q.Validate(what);
            }
            catch (ArgumentException e)
            {
                throw Bad(e.Message);
            }
            return q;
        }

        public string Utf8(int length, string what)
        {
            Require(length, what);
            try
            {
                string s = QuantizedModelFormat.StrictUtf8.GetString(_data.Slice(_position, length));
                _position += length;
                return s;
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw Bad($"{what} is not valid UTF-8");
            }
        }

        public sbyte[] SBytes(int count, string what)
        {
            Require(count, what);
            var result = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(_data.Slice(_position, count)).ToArray();
            _position += count;
            return result;
        }
    }
}
