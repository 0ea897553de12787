using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX-VNNI convolution kernel, vectorized over output positions as <see cref="Avx512Conv"/> is (no horizontal sums,
/// requantization eight lanes at a time), on the same layout as its seven-bit variant: receptive fields as byte quads per
/// position (<c>cols[kQuad][p] = x[4k..4k+3][p]</c>), weights as sbyte quads read from the GEMM's padded rows. One
/// <c>vpdpbusd</c> multiplies the four uint8 x int8 pairs of each lane and adds them into its int32 without an int16
/// step, so it is exact for full eight-bit activations too (qnnpack's) and does in one instruction the 32 multiply-adds
/// the AVX-512BW sequence needs three for.
/// </summary>
internal static unsafe class AvxVnniConv
{
    /// <summary>Positions per vector.</summary>
    public const int Lanes = 8;

    /// <summary>
    /// <c>out[o][p] = requantize(sum_k w[o][k] * x[k][p] + bias[o])</c> for <paramref name="outputs"/> channels and
    /// <paramref name="positions"/> positions; the column buffer is padded to <paramref name="paddedPositions"/>, a
    /// multiple of 16 (<see cref="Avx512Conv.Lanes"/>, so both kernels share the layers' layout). Weight rows are
    /// <paramref name="weightStride"/> ints apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Run(int* cols, int kQuads, int paddedPositions, int* weightQuads, int weightStride, int outputs, int* bias, float* multipliers,
        int zeroPoint, int low, int high, byte* output, int positions)
    {
        var store = new ChannelPlaneStore(bias, multipliers, zeroPoint, low, high, output, positions);
        // Positions outside, channels inside: a block of 16 positions' columns (kQuads x 64 bytes) stays in L1 while every
        // channel's weights stream past it, instead of every channel streaming all the columns from L2.
        for (int p = 0; p < paddedPositions; p += 2 * Lanes)
        {
            int* column = cols + p;
            if (outputs < Channels)
            {
                for (int o = 0; o < outputs; o++)
                    Block1x2(column, kQuads, paddedPositions, weightQuads + (long)o * weightStride, store, o, p);
                continue;
            }
            for (int o = 0; o < outputs; o += Channels)
            {
                // The last block overlaps the one before when the channels do not divide evenly: it recomputes a few
                // channels and writes the same bytes again, cheaper than a narrower block with fewer independent chains.
                int first = Math.Min(o, outputs - Channels);
                Block6x2(column, kQuads, paddedPositions, weightQuads + (long)first * weightStride, weightStride, store, first, p);
            }
        }
    }

    /// <summary>Channels per block of <see cref="Block6x2"/>.</summary>
    private const int Channels = 6;

    /// <summary>
    /// Six channels x two position vectors: 12 accumulators, 2 column vectors and a broadcast fill the 16 registers a
    /// VEX-encoded vpdpbusd can write (the JIT spills accumulators it places above them), with enough independent chains
    /// to cover vpdpbusd's latency at two per cycle; 12 vpdpbusd per 2 column loads and 6 weight broadcasts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block6x2(int* column, int kQuads, int paddedPositions, int* w, int weightStride, in ChannelPlaneStore store, int o, int p)
    {
        // One weight pointer and strides (base + index addressing) instead of six row pointers: fewer live registers.
        nint s1 = weightStride, s2 = 2 * s1, s3 = 3 * s1, s4 = 4 * s1, s5 = 5 * s1;
        int* end = w + kQuads;
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        for (; w < end; w++, column += paddedPositions)
        {
            var x = Vector256.Load(column).AsByte();
            var y = Vector256.Load(column + Lanes).AsByte();
            var v = Vector256.Create(*w).AsSByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, x, v);
            b0 = AvxVnni.MultiplyWideningAndAdd(b0, y, v);
            v = Vector256.Create(w[s1]).AsSByte();
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, x, v);
            b1 = AvxVnni.MultiplyWideningAndAdd(b1, y, v);
            v = Vector256.Create(w[s2]).AsSByte();
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, x, v);
            b2 = AvxVnni.MultiplyWideningAndAdd(b2, y, v);
            v = Vector256.Create(w[s3]).AsSByte();
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, x, v);
            b3 = AvxVnni.MultiplyWideningAndAdd(b3, y, v);
            v = Vector256.Create(w[s4]).AsSByte();
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, x, v);
            b4 = AvxVnni.MultiplyWideningAndAdd(b4, y, v);
            v = Vector256.Create(w[s5]).AsSByte();
            a5 = AvxVnni.MultiplyWideningAndAdd(a5, x, v);
            b5 = AvxVnni.MultiplyWideningAndAdd(b5, y, v);
        }
        store.Store(a0, o, p);
        store.Store(a1, o + 1, p);
        store.Store(a2, o + 2, p);
        store.Store(a3, o + 3, p);
        store.Store(a4, o + 4, p);
        store.Store(a5, o + 5, p);
        store.Store(b0, o, p + Lanes);
        store.Store(b1, o + 1, p + Lanes);
        store.Store(b2, o + 2, p + Lanes);
        store.Store(b3, o + 3, p + Lanes);
        store.Store(b4, o + 4, p + Lanes);
        store.Store(b5, o + 5, p + Lanes);
    }

    /// <summary>One channel x two position vectors (layers with fewer than six channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x2(int* column, int kQuads, int paddedPositions, int* w, in ChannelPlaneStore store, int o, int p)
    {
        Vector256<int> a = default, b = default;
        int* end = w + kQuads;
        for (; w < end; w++, column += paddedPositions)
        {
            var v = Vector256.Create(*w).AsSByte();
            a = AvxVnni.MultiplyWideningAndAdd(a, Vector256.Load(column).AsByte(), v);
            b = AvxVnni.MultiplyWideningAndAdd(b, Vector256.Load(column + Lanes).AsByte(), v);
        }
        store.Store(a, o, p);
        store.Store(b, o, p + Lanes);
    }
}
