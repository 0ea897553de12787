using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// The fused fake-quantization loops over raw float32 memory: one pass computes the output and the straight-through
/// mask, one pass applies the mask to the upstream gradient. Paths: AVX-512 (16 floats), 256-bit vectors (8 floats),
/// scalar; every path gives the same bits.
/// </summary>
/// <remarks>
/// Arithmetic, identical to PyTorch 1.13's CPU kernel (<c>fake_quantize_tensor_cachemask_kernel</c>):
/// <code>
/// q    = round_half_even(x * invScale) + zeroPoint      // float32 throughout; invScale = 1f / scale
/// c    = clamp(q, quantMin, quantMax)
/// y    = (c - zeroPoint) * scale
/// mask = quantMin &lt;= q &lt;= quantMax                    // computed as c == q
/// </code>
/// The clamp is written <c>q &gt; quantMin ? q : quantMin</c>, then <c>c &lt; quantMax ? c : quantMax</c>, in every path,
/// so NaN lands on quantMin with mask 0 (also what PyTorch's float-to-int64 cast yields on x86); +Infinity lands on
/// quantMax with mask 0.
/// </remarks>
internal static unsafe class FakeQuantKernel
{
    /// <summary>
    /// The widest vector path this CPU runs (512, 256 or 0 for scalar), chosen once per process; the driver passes it, tests
    /// pass each narrower width to run every path.
    /// </summary>
    public static int WidestVectorBits { get; } = Avx512F.IsSupported && Avx512BW.IsSupported ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;

    // Plain stores, not streaming ones: the next layer reads y right away, so it should stay in the cache. Streaming
    // stores made a forward+backward benchmark loop ~10% faster but a plain forward 50% slower (mimalloc, 1M floats).

    private static bool UseVector512(int vectorBits) => vectorBits >= 512 && WidestVectorBits >= 512;

    private static bool UseVector256(int vectorBits) => vectorBits >= 256 && WidestVectorBits >= 256;

    /// <summary>
    /// Fake-quantizes <paramref name="n"/> floats from <paramref name="x"/> into <paramref name="y"/>; fills <paramref name="mask"/>
    /// (0/1) unless it is null. <paramref name="vectorBits"/>: the widest vectors to use (capped at <see cref="WidestVectorBits"/>).
    /// </summary>
    public static void Forward(int vectorBits, float* x, float* y, byte* mask, long n, float scale, int zeroPoint, int quantMin, int quantMax)
    {
        float invScale = 1.0f / scale;
        float zp = zeroPoint, qmin = quantMin, qmax = quantMax;
        long i = 0;

        if (UseVector512(vectorBits) && n >= 16)
        {
            var vInv = Vector512.Create(invScale);
            var vScale = Vector512.Create(scale);
            var vZp = Vector512.Create(zp);
            var vMin = Vector512.Create(qmin);
            var vMax = Vector512.Create(qmax);
            for (; i <= n - 16; i += 16)
            {
                var q = RoundAddClamp.RoundAdd(Vector512.Load(x + i) * vInv, vZp);
                var c = RoundAddClamp.Clamp(q, vMin, vMax);
                Vector512.Store((c - vZp) * vScale, y + i);
                if (mask != null)
                {
                    var bits = Vector512.ShiftRightLogical(Vector512.Equals(c, q).AsUInt32(), 31);
                    Vector128.Store(Avx512F.ConvertToVector128Byte(bits), mask + i);
                }
            }
        }
        else if (UseVector256(vectorBits) && n >= 32)
        {
            var vInv = Vector256.Create(invScale);
            var vScale = Vector256.Create(scale);
            var vZp = Vector256.Create(zp);
            var vMin = Vector256.Create(qmin);
            var vMax = Vector256.Create(qmax);
            var one = Vector256.Create((sbyte)1);
            for (; i <= n - 32; i += 32)
            {
                var m0 = Step256(x, y, i, vInv, vScale, vZp, vMin, vMax);
                var m1 = Step256(x, y, i + 8, vInv, vScale, vZp, vMin, vMax);
                var m2 = Step256(x, y, i + 16, vInv, vScale, vZp, vMin, vMax);
                var m3 = Step256(x, y, i + 24, vInv, vScale, vZp, vMin, vMax);
                if (mask != null)
                {
                    var m01 = Vector256.Narrow(m0.AsInt32(), m1.AsInt32());
                    var m23 = Vector256.Narrow(m2.AsInt32(), m3.AsInt32());
                    Vector256.Store(Vector256.Narrow(m01, m23) & one, (sbyte*)(mask + i));
                }
            }
        }

        for (; i < n; i++)
        {
            float q = RoundAddClamp.RoundAdd(x[i] * invScale, zp);
            float c = RoundAddClamp.Clamp(q, qmin, qmax);
            y[i] = (c - zp) * scale;
            if (mask != null)
                mask[i] = (byte)(c == q ? 1 : 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step256(float* x, float* y, long offset, Vector256<float> vInv, Vector256<float> vScale,
        Vector256<float> vZp, Vector256<float> vMin, Vector256<float> vMax)
    {
        var q = RoundAddClamp.RoundAdd(Vector256.Load(x + offset) * vInv, vZp);
        var c = RoundAddClamp.Clamp(q, vMin, vMax);
        Vector256.Store((c - vZp) * vScale, y + offset);
        return Vector256.Equals(c, q);
    }

    /// <summary><paramref name="dx"/> = <paramref name="grad"/> * <paramref name="mask"/>, as PyTorch's <c>dY * mask</c> (NaN * 0 stays NaN).</summary>
    public static void Backward(int vectorBits, float* grad, byte* mask, float* dx, long n)
    {
        long i = 0;
        if (UseVector512(vectorBits) && n >= 16)
        {
            for (; i <= n - 16; i += 16)
            {
                var m = Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(mask + i)));
                Vector512.Store(Vector512.Load(grad + i) * m, dx + i);
            }
        }
        else if (UseVector256(vectorBits) && n >= 32)
        {
            for (; i <= n - 32; i += 32)
            {
                var (lo16, hi16) = Vector256.Widen(Vector256.Load(mask + i));
                var (w0, w1) = Vector256.Widen(lo16);
                var (w2, w3) = Vector256.Widen(hi16);
                Vector256.Store(Vector256.Load(grad + i) * Vector256.ConvertToSingle(w0.AsInt32()), dx + i);
                Vector256.Store(Vector256.Load(grad + i + 8) * Vector256.ConvertToSingle(w1.AsInt32()), dx + i + 8);
                Vector256.Store(Vector256.Load(grad + i + 16) * Vector256.ConvertToSingle(w2.AsInt32()), dx + i + 16);
                Vector256.Store(Vector256.Load(grad + i + 24) * Vector256.ConvertToSingle(w3.AsInt32()), dx + i + 24);
            }
        }
        for (; i < n; i++)
            dx[i] = grad[i] * mask[i];
    }
}
