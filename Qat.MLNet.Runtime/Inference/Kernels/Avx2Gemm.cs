using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX2 int8 GEMM of <see cref="Int8Gemm"/> (small Linear batches on the AVX2 path): blocks of 2 activation rows x 4
/// weight rows share their loads, 32 bytes of k per step, one horizontal sum per output at the end.
/// </summary>
/// <remarks>
/// Seven-bit activations: <c>vpmaddubsw</c> + <c>vpmaddwd</c> with ones (pair sums at most 32512, no saturation). Eight-bit
/// activations: bytes widened to int16 (<c>vpmovzxbw</c> / <c>vpmovsxbw</c>, the activations once per step for all four
/// weight rows) and <c>vpmaddwd</c>. Both give exactly the scalar sums.
/// </remarks>
internal static unsafe class Avx2Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Multiply(byte* x, int xStride, int rows, sbyte* w, int outputs, int kp, int* acc, int accStride, bool sevenBit)
    {
        if (sevenBit)
            Multiply<SevenBit>(x, xStride, rows, w, outputs, kp, acc, accStride);
        else
            Multiply<Widened>(x, xStride, rows, w, outputs, kp, acc, accStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private static void Multiply<TStep>(byte* x, int xStride, int rows, sbyte* w, int outputs, int kp, int* acc, int accStride)
        where TStep : struct, IStep
    {
        int r = 0;
        for (; r + 2 <= rows; r += 2)
        {
            byte* x0 = x + (long)r * xStride, x1 = x0 + xStride;
            int* a0 = acc + (long)r * accStride, a1 = a0 + accStride;
            int o = 0;
            for (; o + 4 <= outputs; o += 4)
                Block2x4<TStep>(x0, x1, w + (long)o * kp, kp, a0 + o, a1 + o);
            for (; o < outputs; o++)
            {
                a0[o] = Dot<TStep>(x0, w + (long)o * kp, kp);
                a1[o] = Dot<TStep>(x1, w + (long)o * kp, kp);
            }
        }
        for (; r < rows; r++)
        {
            byte* xr = x + (long)r * xStride;
            int* ar = acc + (long)r * accStride;
            int o = 0;
            for (; o + 4 <= outputs; o += 4)
                Block1x4<TStep>(xr, w + (long)o * kp, kp, ar + o);
            for (; o < outputs; o++)
                ar[o] = Dot<TStep>(xr, w + (long)o * kp, kp);
        }
    }

    /// <summary>One activation row against four weight rows: the row is loaded once per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x4<TStep>(byte* x, sbyte* w, int kp, int* a)
        where TStep : struct, IStep
    {
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int i = 0; i < kp; i += TStep.Bytes)
        {
            var xv = TStep.Load(x + i);
            s0 = TStep.MultiplyAdd(s0, xv, TStep.LoadWeights(w + i));
            s1 = TStep.MultiplyAdd(s1, xv, TStep.LoadWeights(w + kp + i));
            s2 = TStep.MultiplyAdd(s2, xv, TStep.LoadWeights(w + 2 * kp + i));
            s3 = TStep.MultiplyAdd(s3, xv, TStep.LoadWeights(w + 3 * kp + i));
        }
        a[0] = Vector256.Sum(s0);
        a[1] = Vector256.Sum(s1);
        a[2] = Vector256.Sum(s2);
        a[3] = Vector256.Sum(s3);
    }

    /// <summary>Two activation rows against four weight rows: 8 accumulators, each weight step used twice.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block2x4<TStep>(byte* x0, byte* x1, sbyte* w, int kp, int* a0, int* a1)
        where TStep : struct, IStep
    {
        Vector256<int> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<int> s10 = default, s11 = default, s12 = default, s13 = default;
        for (int i = 0; i < kp; i += TStep.Bytes)
        {
            var xa = TStep.Load(x0 + i);
            var xb = TStep.Load(x1 + i);
            var v = TStep.LoadWeights(w + i);
            s00 = TStep.MultiplyAdd(s00, xa, v);
            s10 = TStep.MultiplyAdd(s10, xb, v);
            v = TStep.LoadWeights(w + kp + i);
            s01 = TStep.MultiplyAdd(s01, xa, v);
            s11 = TStep.MultiplyAdd(s11, xb, v);
            v = TStep.LoadWeights(w + 2 * kp + i);
            s02 = TStep.MultiplyAdd(s02, xa, v);
            s12 = TStep.MultiplyAdd(s12, xb, v);
            v = TStep.LoadWeights(w + 3 * kp + i);
            s03 = TStep.MultiplyAdd(s03, xa, v);
            s13 = TStep.MultiplyAdd(s13, xb, v);
        }
        a0[0] = Vector256.Sum(s00);
        a0[1] = Vector256.Sum(s01);
        a0[2] = Vector256.Sum(s02);
        a0[3] = Vector256.Sum(s03);
        a1[0] = Vector256.Sum(s10);
        a1[1] = Vector256.Sum(s11);
        a1[2] = Vector256.Sum(s12);
        a1[3] = Vector256.Sum(s13);
    }

    /// <summary>One activation row against one weight row (the outputs left after the blocks of four).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot<TStep>(byte* x, sbyte* w, int kp)
        where TStep : struct, IStep
    {
        var acc = Vector256<int>.Zero;
        for (int i = 0; i < kp; i += TStep.Bytes)
            acc = TStep.MultiplyAdd(acc, TStep.Load(x + i), TStep.LoadWeights(w + i));
        return Vector256.Sum(acc);
    }

    /// <summary>One step of k: <see cref="Bytes"/> activations and weights multiplied and added pairwise into 8 int32 lanes.</summary>
    private interface IStep
    {
        /// <summary>Bytes of k per step (a divisor of 32, so padded rows never need a tail).</summary>
        static abstract int Bytes { get; }

        /// <summary>The step's activations in the form <see cref="MultiplyAdd(Vector256{int}, Vector256{byte}, Vector256{byte})"/> takes.</summary>
        static abstract Vector256<byte> Load(byte* x);

        /// <summary>The step's weights in that form.</summary>
        static abstract Vector256<byte> LoadWeights(sbyte* w);

        /// <summary><c>acc + the pairwise products</c> of prepared activations and weights.</summary>
        static abstract Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<byte> x, Vector256<byte> w);

    }

    /// <summary>Seven-bit activations: 32 bytes a step, <c>vpmaddubsw</c> + <c>vpmaddwd</c> with ones.</summary>
    private readonly struct SevenBit : IStep
    {
        public static int Bytes => 32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Load(byte* x) => Vector256.Load(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> LoadWeights(sbyte* w) => Vector256.Load((byte*)w);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<byte> x, Vector256<byte> w) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w.AsSByte()), Vector256.Create((short)1)));
    }

    /// <summary>Eight-bit activations: 16 bytes a step, activations and weights widened to int16, <c>vpmaddwd</c>.</summary>
    private readonly struct Widened : IStep
    {
        public static int Bytes => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Load(byte* x) => Avx2.ConvertToVector256Int16(x).AsByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> LoadWeights(sbyte* w) => Avx2.ConvertToVector256Int16(w).AsByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MultiplyAdd(Vector256<int> acc, Vector256<byte> x, Vector256<byte> w) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16()));
    }
}
