using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX-512BW convolution kernel: vectorized over output positions, not over the reduction, so there are no
/// horizontal sums and the requantization runs 16 lanes at a time. The receptive fields are laid out as pairs of
/// reduction steps interleaved as int16 (<c>cols[kPair][p] = (x[2k][p], x[2k+1][p])</c>), the weights as matching int16
/// pairs, and <c>vpmaddwd</c> adds both products of a pair into an int32 lane (|255 x 128| fits int16, so nothing saturates).
/// </summary>
internal static unsafe class Avx512Conv
{
    /// <summary>Positions per vector.</summary>
    public const int Lanes = 16;

    /// <summary>
    /// <c>out[o][p] = requantize(sum_k w[o][k] * x[k][p] + bias[o])</c> for <paramref name="outputs"/> channels and
    /// <paramref name="positions"/> positions (the column buffer is padded to <paramref name="paddedPositions"/>, a multiple of 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Run(int* cols, int kPairs, int paddedPositions, int* weightPairs, int outputs, int* bias, float* multipliers,
        int zeroPoint, int low, int high, byte* output, int positions)
    {
        int o = 0;
        for (; o + 4 <= outputs; o += 4)
        {
            for (int p = 0; p < paddedPositions; p += Lanes)
            {
                Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
                int* w0 = weightPairs + (long)o * kPairs;
                for (int k = 0; k < kPairs; k++)
                {
                    var x = Vector512.Load(cols + (long)k * paddedPositions + p).AsInt16();
                    a0 = Avx512F.Add(a0, Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[k]).AsInt16()));
                    a1 = Avx512F.Add(a1, Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[kPairs + k]).AsInt16()));
                    a2 = Avx512F.Add(a2, Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[2 * kPairs + k]).AsInt16()));
                    a3 = Avx512F.Add(a3, Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[3 * kPairs + k]).AsInt16()));
                }
                Store(a0, o, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a1, o + 1, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a2, o + 2, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a3, o + 3, p, bias, multipliers, zeroPoint, low, high, output, positions);
            }
        }
        for (; o < outputs; o++)
        {
            for (int p = 0; p < paddedPositions; p += Lanes)
            {
                var a = Vector512<int>.Zero;
                int* w = weightPairs + (long)o * kPairs;
                for (int k = 0; k < kPairs; k++)
                    a = Avx512F.Add(a, Avx512BW.MultiplyAddAdjacent(Vector512.Load(cols + (long)k * paddedPositions + p).AsInt16(), Vector512.Create(w[k]).AsInt16()));
                Store(a, o, p, bias, multipliers, zeroPoint, low, high, output, positions);
            }
        }
    }

    /// <summary>
    /// The seven-bit variant (activations at most 127): receptive fields as byte quads (<c>cols[kQuad][p] = x[4k..4k+3][p]</c>),
    /// weights as sbyte quads (rows <paramref name="weightStride"/> ints apart: the GEMM's padded rows); <c>vpmaddubsw</c> gives two int16 pair sums per position (at most 2 x 127 x 128 = 32512, no
    /// saturation) and <c>vpmaddwd</c> with ones adds them into the position's int32 lane: 64 multiply-adds per two
    /// instructions instead of 32 per one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void RunSevenBit(int* cols, int kQuads, int paddedPositions, int* weightQuads, int weightStride, int outputs, int* bias, float* multipliers,
        int zeroPoint, int low, int high, byte* output, int positions)
    {
        var ones = Vector512.Create((short)1);
        int o = 0;
        for (; o + 4 <= outputs; o += 4)
        {
            int* w0 = weightQuads + (long)o * weightStride;
            int p = 0;
            // Two position vectors per step share the four weight broadcasts.
            for (; p + 2 * Lanes <= paddedPositions; p += 2 * Lanes)
            {
                Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector512<int> b0 = default, b1 = default, b2 = default, b3 = default;
                for (int k = 0; k < kQuads; k++)
                {
                    int* row = cols + (long)k * paddedPositions + p;
                    var x = Vector512.Load(row).AsByte();
                    var y = Vector512.Load(row + Lanes).AsByte();
                    var v0 = Vector512.Create(w0[k]).AsSByte();
                    var v1 = Vector512.Create(w0[weightStride + k]).AsSByte();
                    var v2 = Vector512.Create(w0[2 * weightStride + k]).AsSByte();
                    var v3 = Vector512.Create(w0[3 * weightStride + k]).AsSByte();
                    a0 = Avx512F.Add(a0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, v0), ones));
                    a1 = Avx512F.Add(a1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, v1), ones));
                    a2 = Avx512F.Add(a2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, v2), ones));
                    a3 = Avx512F.Add(a3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, v3), ones));
                    b0 = Avx512F.Add(b0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(y, v0), ones));
                    b1 = Avx512F.Add(b1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(y, v1), ones));
                    b2 = Avx512F.Add(b2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(y, v2), ones));
                    b3 = Avx512F.Add(b3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(y, v3), ones));
                }
                Store(a0, o, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a1, o + 1, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a2, o + 2, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a3, o + 3, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(b0, o, p + Lanes, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(b1, o + 1, p + Lanes, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(b2, o + 2, p + Lanes, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(b3, o + 3, p + Lanes, bias, multipliers, zeroPoint, low, high, output, positions);
            }
            for (; p < paddedPositions; p += Lanes)
            {
                Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int k = 0; k < kQuads; k++)
                {
                    var x = Vector512.Load(cols + (long)k * paddedPositions + p).AsByte();
                    a0 = Avx512F.Add(a0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[k]).AsSByte()), ones));
                    a1 = Avx512F.Add(a1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[weightStride + k]).AsSByte()), ones));
                    a2 = Avx512F.Add(a2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[2 * weightStride + k]).AsSByte()), ones));
                    a3 = Avx512F.Add(a3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, Vector512.Create(w0[3 * weightStride + k]).AsSByte()), ones));
                }
                Store(a0, o, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a1, o + 1, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a2, o + 2, p, bias, multipliers, zeroPoint, low, high, output, positions);
                Store(a3, o + 3, p, bias, multipliers, zeroPoint, low, high, output, positions);
            }
        }
        for (; o < outputs; o++)
        {
            for (int p = 0; p < paddedPositions; p += Lanes)
            {
                var a = Vector512<int>.Zero;
                int* w = weightQuads + (long)o * weightStride;
                for (int k = 0; k < kQuads; k++)
                    a = Avx512F.Add(a, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(cols + (long)k * paddedPositions + p).AsByte(), Vector512.Create(w[k]).AsSByte()), ones));
                Store(a, o, p, bias, multipliers, zeroPoint, low, high, output, positions);
            }
        }
    }

    /// <summary>The same requantization as <see cref="Requantizer.Apply"/>, 16 lanes at a time; writes only positions &lt; <paramref name="positions"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<int> acc, int o, int p, int* bias, float* multipliers, int zeroPoint, int low, int high, byte* output, int positions)
    {
        var f = Vector512.ConvertToSingle(acc + Vector512.Create(bias[o])) * Vector512.Create(multipliers[o]);
        var q = RoundAddClamp.Apply(f, Vector512.Create((float)zeroPoint), Vector512.Create((float)low), Vector512.Create((float)high));
        var bytes = Avx512F.ConvertToVector128Byte(Vector512.ConvertToInt32(q).AsUInt32());
        byte* dst = output + (long)o * positions + p;
        int count = Math.Min(Lanes, positions - p);
        if (count == Lanes)
        {
            bytes.Store(dst);
        }
        else
        {
            for (int i = 0; i < count; i++)
                dst[i] = bytes.GetElement(i);
        }
    }
}
