using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX2 convolution kernel (CPUs without AVX-512 or AVX-VNNI, such as AMD Zen 2/3), vectorized over output positions as
/// <see cref="AvxVnniConv"/> is: no horizontal sums, requantization eight lanes at a time, on the layers' shared column
/// layouts. One reduction step of a lane is a byte quad (<see cref="SevenBitQuads"/>: <c>vpmaddubsw</c> then
/// <c>vpmaddwd</c> with ones, 32 multiply-adds per three instructions) or an int16 pair (<see cref="Int16Pairs"/>:
/// <c>vpmaddwd</c>, 16 per two), chosen by the type argument so the JIT compiles one loop per form with the step inlined.
/// </summary>
internal static unsafe class Avx2Conv
{
    /// <summary>Positions per vector.</summary>
    public const int Lanes = 8;

    /// <summary>Channels per block of <see cref="Block4x2{TStep}"/>.</summary>
    private const int Channels = 4;

    /// <summary>
    /// <c>out[o][p] = requantize(sum_k w[o][k] * x[k][p] + bias[o])</c> for <paramref name="outputs"/> channels and
    /// <paramref name="positions"/> positions: <paramref name="steps"/> rows of the column buffer (each
    /// <paramref name="paddedPositions"/> ints, a multiple of 16), weight rows of one int per step,
    /// <paramref name="weightStride"/> ints apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Run<TStep>(int* cols, int steps, int paddedPositions, int* weights, int weightStride, int outputs, int* bias, float* multipliers,
        int zeroPoint, int low, int high, byte* output, int positions)
        where TStep : struct, IStep
    {
        var store = new ChannelPlaneStore(bias, multipliers, zeroPoint, low, high, output, positions);
        // Positions outside, channels inside (as AvxVnniConv): 16 positions' columns stay in L1 while the weights stream past.
        for (int p = 0; p < paddedPositions; p += 2 * Lanes)
        {
            int* column = cols + p;
            if (outputs < Channels)
            {
                for (int o = 0; o < outputs; o++)
                    Block1x2<TStep>(column, steps, paddedPositions, weights + (long)o * weightStride, store, o, p);
                continue;
            }
            for (int o = 0; o < outputs; o += Channels)
            {
                // The last block may overlap the one before: it recomputes a few channels and writes the same bytes again.
                int first = Math.Min(o, outputs - Channels);
                Block4x2<TStep>(column, steps, paddedPositions, weights + (long)first * weightStride, weightStride, store, first, p);
            }
        }
    }

    /// <summary>
    /// Four channels x two position vectors: 8 accumulators, 2 column vectors, a broadcast and the step's temporary fit the
    /// 16 AVX2 registers (six channels, as AVX-VNNI's block, would spill: its step needs no temporary or constant).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x2<TStep>(int* column, int steps, int paddedPositions, int* w, int weightStride, in ChannelPlaneStore store, int o, int p)
        where TStep : struct, IStep
    {
        nint s1 = weightStride, s2 = 2 * s1, s3 = 3 * s1;
        int* end = w + steps;
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default;
        for (; w < end; w++, column += paddedPositions)
        {
            var x = Vector256.Load(column);
            var y = Vector256.Load(column + Lanes);
            var v = Vector256.Create(*w);
            a0 = TStep.MultiplyAdd(a0, x, v);
            b0 = TStep.MultiplyAdd(b0, y, v);
            v = Vector256.Create(w[s1]);
            a1 = TStep.MultiplyAdd(a1, x, v);
            b1 = TStep.MultiplyAdd(b1, y, v);
            v = Vector256.Create(w[s2]);
            a2 = TStep.MultiplyAdd(a2, x, v);
            b2 = TStep.MultiplyAdd(b2, y, v);
            v = Vector256.Create(w[s3]);
            a3 = TStep.MultiplyAdd(a3, x, v);
            b3 = TStep.MultiplyAdd(b3, y, v);
        }
        store.Store(a0, o, p);
        store.Store(a1, o + 1, p);
        store.Store(a2, o + 2, p);
        store.Store(a3, o + 3, p);
        store.Store(b0, o, p + Lanes);
        store.Store(b1, o + 1, p + Lanes);
        store.Store(b2, o + 2, p + Lanes);
        store.Store(b3, o + 3, p + Lanes);
    }

    /// <summary>One channel x two position vectors (layers with fewer than four channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x2<TStep>(int* column, int steps, int paddedPositions, int* w, in ChannelPlaneStore store, int o, int p)
        where TStep : struct, IStep
    {
        Vector256<int> a = default, b = default;
        int* end = w + steps;
        for (; w < end; w++, column += paddedPositions)
        {
            var v = Vector256.Create(*w);
            a = TStep.MultiplyAdd(a, Vector256.Load(column), v);
            b = TStep.MultiplyAdd(b, Vector256.Load(column + Lanes), v);
        }
        store.Store(a, o, p);
        store.Store(b, o, p + Lanes);
    }

    /// <summary>One reduction step of eight lanes: <c>acc + sum_j x_j * w_j</c> over the parts of a lane (exact in int32).</summary>
    internal interface IStep
    {
        /// <summary>Adds the products of the parts of <paramref name="x"/>'s and <paramref name="w"/>'s lanes to <paramref name="acc"/>.</summary>
        static abstract Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<int> x, Vector256<int> w);
    }

    /// <summary>
    /// Lanes of four uint8 activations (at most 127: fbgemm's reduce_range) and four int8 weights: <c>vpmaddubsw</c>'s pair
    /// sums are at most 2 x 127 x 128 = 32512, so they never saturate, and <c>vpmaddwd</c> with ones adds the two pairs.
    /// </summary>
    internal readonly struct SevenBitQuads : IStep
    {
        /// <inheritdoc />
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<int> x, Vector256<int> w) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x.AsByte(), w.AsSByte()), Vector256.Create((short)1)));
    }

    /// <summary>Lanes of two int16 activations (any eight-bit level) and two int16 weights: one <c>vpmaddwd</c>.</summary>
    internal readonly struct Int16Pairs : IStep
    {
        /// <inheritdoc />
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<int> x, Vector256<int> w) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16()));
    }
}
