using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX-512BW int8 GEMM of <see cref="Int8Gemm"/>: blocks of 2 activation rows x 4 weight rows share their loads
/// (8 accumulators of 16 int32 lanes), 64 bytes of k per step.
/// </summary>
/// <remarks>
/// Seven-bit activations (x &lt;= 127): <c>vpmaddubsw</c> multiplies u8 x s8 and adds pairs into int16; a pair is at most
/// 2 x 127 x 128 = 32512, so it never saturates, and <c>vpmaddwd</c> with ones widens pairs of those into int32. Eight-bit
/// activations could reach 65280 and saturate, so they are widened to int16 first (<c>vpmovzxbw</c>/<c>vpmovsxbw</c>) and
/// multiplied with <c>vpmaddwd</c>. Both give exactly the scalar sums.
/// </remarks>
internal static unsafe class Avx512Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Multiply(byte* x, int xStride, int rows, sbyte* w, int outputs, int kp, int* acc, int accStride, bool sevenBit)
    {
        int r = 0;
        for (; r + 2 <= rows; r += 2)
        {
            byte* x0 = x + (long)r * xStride, x1 = x0 + xStride;
            int* a0 = acc + (long)r * accStride, a1 = a0 + accStride;
            int o = 0;
            for (; o + 4 <= outputs; o += 4)
                Block2x4(x0, x1, w + (long)o * kp, kp, a0 + o, a1 + o, sevenBit);
            for (; o < outputs; o++)
            {
                a0[o] = Dot(x0, w + (long)o * kp, kp, sevenBit);
                a1[o] = Dot(x1, w + (long)o * kp, kp, sevenBit);
            }
        }
        for (; r < rows; r++)
        {
            byte* xr = x + (long)r * xStride;
            int* ar = acc + (long)r * accStride;
            int o = 0;
            for (; o + 4 <= outputs; o += 4)
                Block1x4(xr, w + (long)o * kp, kp, ar + o, sevenBit);
            for (; o < outputs; o++)
                ar[o] = Dot(xr, w + (long)o * kp, kp, sevenBit);
        }
    }

    /// <summary>One activation row against four weight rows: the row is loaded once per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x4(byte* x, sbyte* w, int kp, int* a, bool sevenBit)
    {
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i + 64 <= kp; i += 64)
        {
            var xv = Vector512.Load(x + i);
            s0 = MulAdd(s0, xv, Vector512.Load(w + i), sevenBit);
            s1 = MulAdd(s1, xv, Vector512.Load(w + kp + i), sevenBit);
            s2 = MulAdd(s2, xv, Vector512.Load(w + 2 * kp + i), sevenBit);
            s3 = MulAdd(s3, xv, Vector512.Load(w + 3 * kp + i), sevenBit);
        }
        Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default;
        if (i < kp)
        {
            var xv = Vector256.Load(x + i);
            t0 = MulAdd256(t0, xv, Vector256.Load(w + i), sevenBit);
            t1 = MulAdd256(t1, xv, Vector256.Load(w + kp + i), sevenBit);
            t2 = MulAdd256(t2, xv, Vector256.Load(w + 2 * kp + i), sevenBit);
            t3 = MulAdd256(t3, xv, Vector256.Load(w + 3 * kp + i), sevenBit);
        }
        a[0] = Vector512.Sum(s0) + Vector256.Sum(t0);
        a[1] = Vector512.Sum(s1) + Vector256.Sum(t1);
        a[2] = Vector512.Sum(s2) + Vector256.Sum(t2);
        a[3] = Vector512.Sum(s3) + Vector256.Sum(t3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> MulAdd(Vector512<int> acc, Vector512<byte> x, Vector512<sbyte> w, bool sevenBit)
    {
        if (sevenBit)
            return Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, w), Vector512.Create((short)1)));
        var xl = Avx512BW.ConvertToVector512Int16(x.GetLower());
        var xh = Avx512BW.ConvertToVector512Int16(x.GetUpper());
        var wl = Avx512BW.ConvertToVector512Int16(w.GetLower());
        var wh = Avx512BW.ConvertToVector512Int16(w.GetUpper());
        return Avx512F.Add(acc, Avx512F.Add(Avx512BW.MultiplyAddAdjacent(xl, wl), Avx512BW.MultiplyAddAdjacent(xh, wh)));
    }

    /// <summary>One 32-byte step on 256-bit vectors (the tail when kp is an odd multiple of 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MulAdd256(Vector256<int> acc, Vector256<byte> x, Vector256<sbyte> w, bool sevenBit)
    {
        if (sevenBit)
            return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w), Vector256.Create((short)1)));
        var xl = Avx2.ConvertToVector256Int16(x.GetLower());
        var xh = Avx2.ConvertToVector256Int16(x.GetUpper());
        var wl = Avx2.ConvertToVector256Int16(w.GetLower());
        var wh = Avx2.ConvertToVector256Int16(w.GetUpper());
        return Avx2.Add(acc, Avx2.Add(Avx2.MultiplyAddAdjacent(xl, wl), Avx2.MultiplyAddAdjacent(xh, wh)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private static int Dot(byte* x, sbyte* w, int kp, bool sevenBit)
    {
        var acc = Vector512<int>.Zero;
        int i = 0;
        for (; i + 64 <= kp; i += 64)
            acc = MulAdd(acc, Vector512.Load(x + i), Vector512.Load(w + i), sevenBit);
        int sum = Vector512.Sum(acc);
        if (i < kp)
            sum += Vector256.Sum(MulAdd256(Vector256<int>.Zero, Vector256.Load(x + i), Vector256.Load(w + i), sevenBit));
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block2x4(byte* x0, byte* x1, sbyte* w, int kp, int* a0, int* a1, bool sevenBit)
    {
        Vector512<int> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector512<int> s10 = default, s11 = default, s12 = default, s13 = default;
        int i = 0;
        for (; i + 64 <= kp; i += 64)
        {
            var xa = Vector512.Load(x0 + i);
            var xb = Vector512.Load(x1 + i);
            var w0 = Vector512.Load(w + i);
            var w1 = Vector512.Load(w + kp + i);
            var w2 = Vector512.Load(w + 2 * kp + i);
            var w3 = Vector512.Load(w + 3 * kp + i);
            s00 = MulAdd(s00, xa, w0, sevenBit);
            s01 = MulAdd(s01, xa, w1, sevenBit);
            s02 = MulAdd(s02, xa, w2, sevenBit);
            s03 = MulAdd(s03, xa, w3, sevenBit);
            s10 = MulAdd(s10, xb, w0, sevenBit);
            s11 = MulAdd(s11, xb, w1, sevenBit);
            s12 = MulAdd(s12, xb, w2, sevenBit);
            s13 = MulAdd(s13, xb, w3, sevenBit);
        }
        Vector256<int> t00 = default, t01 = default, t02 = default, t03 = default;
        Vector256<int> t10 = default, t11 = default, t12 = default, t13 = default;
        if (i < kp)
        {
            var xa = Vector256.Load(x0 + i);
            var xb = Vector256.Load(x1 + i);
            var w0 = Vector256.Load(w + i);
            var w1 = Vector256.Load(w + kp + i);
            var w2 = Vector256.Load(w + 2 * kp + i);
            var w3 = Vector256.Load(w + 3 * kp + i);
            t00 = MulAdd256(t00, xa, w0, sevenBit);
            t01 = MulAdd256(t01, xa, w1, sevenBit);
            t02 = MulAdd256(t02, xa, w2, sevenBit);
            t03 = MulAdd256(t03, xa, w3, sevenBit);
            t10 = MulAdd256(t10, xb, w0, sevenBit);
            t11 = MulAdd256(t11, xb, w1, sevenBit);
            t12 = MulAdd256(t12, xb, w2, sevenBit);
            t13 = MulAdd256(t13, xb, w3, sevenBit);
        }
        a0[0] = Vector512.Sum(s00) + Vector256.Sum(t00);
        a0[1] = Vector512.Sum(s01) + Vector256.Sum(t01);
        a0[2] = Vector512.Sum(s02) + Vector256.Sum(t02);
        a0[3] = Vector512.Sum(s03) + Vector256.Sum(t03);
        a1[0] = Vector512.Sum(s10) + Vector256.Sum(t10);
        a1[1] = Vector512.Sum(s11) + Vector256.Sum(t11);
        a1[2] = Vector512.Sum(s12) + Vector256.Sum(t12);
        a1[3] = Vector512.Sum(s13) + Vector256.Sum(t13);
    }
}
