using System.Security.Cryptography;
using System.Text;

namespace Qat.MLNet.Inference;

/// <summary>
/// The binary file format of <see cref="QuantizedModel"/>, version 3 (versions 1 and 2 still load). All numbers little-endian.
/// A model is written at the lowest version that holds it: version 2 unless it has layers kept in float (version 3), so
/// an all-int8 model still loads in libraries that read version 2.
/// <code>
/// header   8 bytes  magic "QATMLQM1"
///          2 bytes  format version (2, or 3 with float layers)
///          2 bytes  reserved (0)
///          8 bytes  payload length in bytes
///         32 bytes  SHA-256 of the payload
/// payload  input shape (3 x int32), input qparams, output qparams (scale f32, zero point, min, max: int32),
///          [version 2] standardization flag (byte 0/1), and when 1: input-size means (f32) then input-size scales (f32),
///          layer count (int32), then per layer: kind (byte), name (int32 length + UTF-8), input shape (3 x int32),
///          and the kind's fields (see <see cref="QuantizedModelWriter"/>).
/// </code>
/// The reader checks the header, bounds the payload length by the stream and <see cref="MaxPayloadBytes"/>, verifies the
/// hash before parsing anything, and checks every count against what is left of the payload before allocating.
/// </summary>
public static class QuantizedModelFormat
{
    /// <summary>The file magic.</summary>
    public static ReadOnlySpan<byte> Magic => "QATMLQM1"u8;

    /// <summary>The version this library writes.</summary>
    public const ushort Version = 3;

    /// <summary>The version of models without float layers.</summary>
    internal const ushort Int8OnlyVersion = 2;

    /// <summary>The oldest version this library reads (version 1: no standardization block).</summary>
    public const ushort OldestReadableVersion = 1;

    /// <summary>The largest payload accepted (1 GiB).</summary>
    public const long MaxPayloadBytes = 1L << 30;

    /// <summary>Header size in bytes.</summary>
    public const int HeaderBytes = 8 + 2 + 2 + 8 + 32;

    internal enum LayerKind : byte
    {
        Linear = 1,
        Conv2d = 2,
        MaxPool2d = 3,
        AvgPool2d = 4,
        ReLU = 5,
        Flatten = 6,
        FloatLinear = 7,
        FloatConv2d = 8,
    }

    internal static byte[] Hash(ReadOnlySpan<byte> payload) => SHA256.HashData(payload);

    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
