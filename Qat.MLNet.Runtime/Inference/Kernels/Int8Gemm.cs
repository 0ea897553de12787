using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// uint8 x int8 -> int32 matrix products: <c>acc[r, o] = sum_k x[r, k] * w[o, k]</c>, with weights stored row-major and
/// each row padded with zeros to <see cref="PaddedLength"/> (a multiple of 32), so the vector loops never need a tail.
/// Activation rows may be read up to 31 bytes past their end (the zero weights cancel them), so callers keep 32 bytes of
/// slack after the last row.
/// </summary>
internal static unsafe class Int8Gemm
{
    /// <summary>Bytes the caller must keep readable after the last activation row.</summary>
    public const int Slack = 64;

    /// <summary><paramref name="k"/> rounded up to a multiple of 32 (kernels step 64 bytes, then one 32-byte tail).</summary>
    public static int PaddedLength(int k) => (k + 31) & ~31;

    /// <summary>
    /// For <paramref name="rows"/> activation rows of <paramref name="k"/> bytes (<paramref name="xStride"/> apart) and
    /// <paramref name="outputs"/> weight rows of <see cref="PaddedLength"/> bytes, writes <c>acc[r * accStride + o]</c>.
    /// <paramref name="sevenBitActivations"/> promises every activation byte is at most 127 (lets AVX-512 use vpmaddubsw).
    /// The caller (<see cref="Int8Kernels"/>) has checked that the CPU runs <paramref name="path"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Multiply(Int8KernelPath path, byte* x, int xStride, int rows, sbyte* w, int outputs, int k, int* acc, int accStride, bool sevenBitActivations = false)
    {
        int kp = PaddedLength(k);
        if (path == Int8KernelPath.Avx512)
        {
            Avx512Gemm.Multiply(x, xStride, rows, w, outputs, kp, acc, accStride, sevenBitActivations);
            return;
        }
        if (path == Int8KernelPath.Avx2)
        {
            Avx2Gemm.Multiply(x, xStride, rows, w, outputs, kp, acc, accStride, sevenBitActivations);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            byte* xr = x + (long)r * xStride;
            int* ar = acc + (long)r * accStride;
            int o = 0;
            // No layer of the AVX-VNNI paths calls the GEMM (their Linear and convolution kernels are their own); this
            // dot form is that path's GEMM for whoever does, checked with the others in Int8GemmTests.
            if (path is Int8KernelPath.AvxVnni or Int8KernelPath.AvxVnniAvx512)
            {
                for (; o <= outputs - 4; o += 4)
                    DotVnni4(xr, w + (long)o * kp, kp, ar + o);
                for (; o < outputs; o++)
                    ar[o] = DotVnni(xr, w + (long)o * kp, kp);
            }
            else
            {
                for (; o < outputs; o++)
                    ar[o] = DotScalar(xr, w + (long)o * kp, k);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private static int DotScalar(byte* x, sbyte* w, int k)
    {
        int sum = 0;
        for (int i = 0; i < k; i++)
            sum += x[i] * w[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private static int DotVnni(byte* x, sbyte* w, int kp)
    {
        var acc = Vector256<int>.Zero;
        for (int i = 0; i < kp; i += 32)
            acc = AvxVnni.MultiplyWideningAndAdd(acc, Vector256.Load(x + i), Vector256.Load(w + i));
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotVnni4(byte* x, sbyte* w, int kp, int* result)
    {
        var a0 = Vector256<int>.Zero;
        var a1 = Vector256<int>.Zero;
        var a2 = Vector256<int>.Zero;
        var a3 = Vector256<int>.Zero;
        for (int i = 0; i < kp; i += 32)
        {
            var xv = Vector256.Load(x + i);
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, xv, Vector256.Load(w + i));
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, xv, Vector256.Load(w + kp + i));
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, xv, Vector256.Load(w + 2 * kp + i));
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, xv, Vector256.Load(w + 3 * kp + i));
        }
        result[0] = Vector256.Sum(a0);
        result[1] = Vector256.Sum(a1);
        result[2] = Vector256.Sum(a2);
        result[3] = Vector256.Sum(a3);
    }
}
