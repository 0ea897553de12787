using System.Buffers.Binary;

namespace Qat.MLNet.Inference;

/// <summary>A bounds-checked cursor over the verified payload.</summary>
internal ref struct PayloadReader
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
            throw QuantizedModelReader.Bad($"{what} needs {bytes} bytes but only {Remaining} are left");
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
        var b => throw QuantizedModelReader.Bad($"{what} is {b}, not 0 or 1"),
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
            throw QuantizedModelReader.Bad($"{what} is {n} (allowed: 0 to {max})");
        Require((long)n * bytesPerItem, what);
        return n;
    }

    public int Dimension(string what)
    {
        int v = Int32(what);
        if (v <= 0 || v > QuantizedModelReader.MaxDimension)
            throw QuantizedModelReader.Bad($"{what} is {v} (allowed: 1 to {QuantizedModelReader.MaxDimension})");
        return v;
    }

    public int NonNegative(string what)
    {
        int v = Int32(what);
        if (v < 0 || v > QuantizedModelReader.MaxDimension)
            throw QuantizedModelReader.Bad($"{what} is {v} (allowed: 0 to {QuantizedModelReader.MaxDimension})");
        return v;
    }

    public ActivationShape Shape(string what)
    {
        var s = new ActivationShape(Dimension(what), Dimension(what), Dimension(what));
        if ((long)s.Channels * s.Height * s.Width > QuantizedModelReader.MaxElements)
            throw QuantizedModelReader.Bad($"{what} {s} has more than {QuantizedModelReader.MaxElements} elements");
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
            throw QuantizedModelReader.Bad(e.Message);
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
            throw QuantizedModelReader.Bad($"{what} is not valid UTF-8");
        }
    }

    public sbyte[] SBytes(int count, string what)
    {
        Require(count, what);
        var result = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(_data.Slice(_position, count)).ToArray();
        _position += count;
        return result;
    }

    /// <summary>Reads <paramref name="count"/> little-endian floats, checking first that the payload holds them.</summary>
    public float[] Singles(int count, string what)
    {
        Require(4L * count, what);
        var result = new float[count];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_data.Slice(_position, 4 * count)).CopyTo(result);
        _position += 4 * count;
        return result;
    }
}
