using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>The affine map between uint8 activation values and floats: <c>x = (q - ZeroPoint) * Scale</c>, q in [QuantMin, QuantMax].</summary>
/// <param name="Scale">The step between levels; positive and finite.</param>
/// <param name="ZeroPoint">The level that represents 0.0.</param>
/// <param name="QuantMin">The lowest level used (0).</param>
/// <param name="QuantMax">The highest level used (255, or 127 for fbgemm's reduce_range).</param>
public readonly record struct QuantizationParameters(float Scale, int ZeroPoint, int QuantMin, int QuantMax)
{
    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate(string what)
    {
        if (!(float.IsFinite(Scale) && Scale > 0f))
            throw new ArgumentException($"{what}: scale ({Scale}) must be positive and finite.");
        if (QuantMin < 0 || QuantMax > 255 || QuantMin >= QuantMax)
            throw new ArgumentException($"{what}: range [{QuantMin}, {QuantMax}] must lie inside [0, 255] with min < max.");
        if (ZeroPoint < QuantMin || ZeroPoint > QuantMax)
            throw new ArgumentException($"{what}: zero point ({ZeroPoint}) must lie in [{QuantMin}, {QuantMax}].");
    }

    /// <summary>Quantizes one value as PyTorch's <c>quantize_per_tensor</c>: <c>clamp(round_half_even(x * (1f / Scale)) + ZeroPoint)</c>.</summary>
    // Inlined into the kernels' optimized callers: as a call it would run as tier-0 code for the first ~100 ms.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte Quantize(float x)
    {
        // NaN lands on QuantMin, as the fake-quant kernels do.
        return (byte)RoundAddClamp.Apply(x * (1f / Scale), ZeroPoint, QuantMin, QuantMax);
    }

    /// <summary>Quantizes every value of <paramref name="values"/> into <paramref name="levels"/> (same arithmetic as <see cref="Quantize(float)"/>, 16 at a time where AVX-512 is present, 8 where AVX2 is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public void Quantize(ReadOnlySpan<float> values, Span<byte> levels)
    {
        int i = 0;
        if (Avx512F.IsSupported && values.Length >= 16)
        {
            var inv = Vector512.Create(1f / Scale);
            var zp = Vector512.Create((float)ZeroPoint);
            var lo = Vector512.Create((float)QuantMin);
            var hi = Vector512.Create((float)QuantMax);
            for (; i + 16 <= values.Length; i += 16)
            {
                var q = RoundAddClamp.Apply(Vector512.Create(values.Slice(i, 16)) * inv, zp, lo, hi);
                Avx512F.ConvertToVector128Byte(Vector512.ConvertToInt32(q).AsUInt32()).CopyTo(levels.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            // AVX2 CPUs: 8 at a time. The scalar loop cost the MLP at batch 256 more than its first layer on AMD Zen 3.
            var inv = Vector256.Create(1f / Scale);
            var zp = Vector256.Create((float)ZeroPoint);
            var lo = Vector256.Create((float)QuantMin);
            var hi = Vector256.Create((float)QuantMax);
            for (; i + 8 <= values.Length; i += 8)
            {
                var q = Vector256.ConvertToInt32(RoundAddClamp.Apply(Vector256.Create(values.Slice(i, 8)) * inv, zp, lo, hi));
                BinaryPrimitives.WriteUInt64LittleEndian(levels.Slice(i, 8), EightLaneStore.ToBytes(q)); // lanes in [QuantMin, QuantMax]
            }
        }
        for (; i < values.Length; i++)
            levels[i] = Quantize(values[i]);
    }

    /// <summary>The float a level stands for.</summary>
    // Inlined into the kernels' optimized callers: as a call it would run as tier-0 code for the first ~100 ms.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Dequantize(byte q) => (q - ZeroPoint) * Scale;
}
