using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// The fused fake-quantization loops over raw float32 memory: one pass computes the output and the straight-through
/// mask, one pass applies the mask to the upstream gradient.
/// </summary>
/// <remarks>
/// Arithmetic, identical to PyTorch 1.13's CPU kernel (<c>fake_quantize_tensor_cachemask_kernel</c>):
/// <code>
/// q    = round_half_even(x * invScale) + zeroPoint      // float32 throughout; invScale = 1f / scale
/// mask = quantMin &lt;= q &lt;= quantMax
/// y    = (clamp(q, quantMin, quantMax) - zeroPoint) * scale
/// </code>
/// The vector and scalar paths give the same bits, NaN included: the clamp is written as
/// <c>q &gt; quantMin ? q : quantMin</c> and <c>c &lt; quantMax ? c : quantMax</c>, so NaN lands on quantMin with mask 0
/// (which is also what PyTorch's float-to-int64 cast yields on x86). +Infinity lands on quantMax with mask 0.
/// </remarks>
internal static class FakeQuantKernel
{
    /// <summary>Fake-quantizes <paramref name="x"/> into <paramref name="y"/>; fills <paramref name="mask"/> (0/1) unless it is empty.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<byte> mask, float scale, int zeroPoint, int quantMin, int quantMax)
    {
        float invScale = 1.0f / scale;
        float zp = zeroPoint, qmin = quantMin, qmax = quantMax;
        bool withMask = !mask.IsEmpty;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref byte mr = ref MemoryMarshal.GetReference(mask);
        int n = x.Length;
        int i = 0;

        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            var vInv = Vector256.Create(invScale);
            var vScale = Vector256.Create(scale);
            var vZp = Vector256.Create(zp);
            var vMin = Vector256.Create(qmin);
            var vMax = Vector256.Create(qmax);
            var one = Vector256.Create((sbyte)1);
            for (; i <= n - 32; i += 32)
            {
                var m0 = Step(ref xr, ref yr, (nuint)i, vInv, vScale, vZp, vMin, vMax);
                var m1 = Step(ref xr, ref yr, (nuint)i + 8, vInv, vScale, vZp, vMin, vMax);
                var m2 = Step(ref xr, ref yr, (nuint)i + 16, vInv, vScale, vZp, vMin, vMax);
                var m3 = Step(ref xr, ref yr, (nuint)i + 24, vInv, vScale, vZp, vMin, vMax);
                if (withMask)
                {
                    var m01 = Vector256.Narrow(m0.AsInt32(), m1.AsInt32());
                    var m23 = Vector256.Narrow(m2.AsInt32(), m3.AsInt32());
                    var bytes = Vector256.Narrow(m01, m23) & one;
                    bytes.AsByte().StoreUnsafe(ref mr, (nuint)i);
                }
            }
        }

        for (; i < n; i++)
        {
            float q = MathF.Round(Unsafe.Add(ref xr, i) * invScale) + zp;
            float c = q > qmin ? q : qmin;
            c = c < qmax ? c : qmax;
            Unsafe.Add(ref yr, i) = (c - zp) * scale;
            if (withMask)
                Unsafe.Add(ref mr, i) = (byte)(q >= qmin && q <= qmax ? 1 : 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(ref float xr, ref float yr, nuint offset, Vector256<float> vInv, Vector256<float> vScale,
        Vector256<float> vZp, Vector256<float> vMin, Vector256<float> vMax)
    {
        var q = Vector256.Round(Vector256.LoadUnsafe(ref xr, offset) * vInv) + vZp;
        var c = Vector256.ConditionalSelect(Vector256.GreaterThan(q, vMin), q, vMin);
        c = Vector256.ConditionalSelect(Vector256.LessThan(c, vMax), c, vMax);
        ((c - vZp) * vScale).StoreUnsafe(ref yr, offset);
        return Vector256.GreaterThanOrEqual(q, vMin) & Vector256.LessThanOrEqual(q, vMax);
    }

    /// <summary><paramref name="dx"/> = <paramref name="grad"/> * <paramref name="mask"/>, as PyTorch's <c>dY * mask</c> (NaN * 0 stays NaN).</summary>
    public static void Backward(ReadOnlySpan<float> grad, ReadOnlySpan<byte> mask, Span<float> dx)
    {
        ref float gr = ref MemoryMarshal.GetReference(grad);
        ref byte mr = ref MemoryMarshal.GetReference(mask);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        int n = grad.Length;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            for (; i <= n - 32; i += 32)
            {
                var bytes = Vector256.LoadUnsafe(ref mr, (nuint)i);
                var (lo16, hi16) = Vector256.Widen(bytes);
                var (w0, w1) = Vector256.Widen(lo16);
                var (w2, w3) = Vector256.Widen(hi16);
                (Vector256.LoadUnsafe(ref gr, (nuint)i) * Vector256.ConvertToSingle(w0.AsInt32())).StoreUnsafe(ref dr, (nuint)i);
                (Vector256.LoadUnsafe(ref gr, (nuint)i + 8) * Vector256.ConvertToSingle(w1.AsInt32())).StoreUnsafe(ref dr, (nuint)i + 8);
                (Vector256.LoadUnsafe(ref gr, (nuint)i + 16) * Vector256.ConvertToSingle(w2.AsInt32())).StoreUnsafe(ref dr, (nuint)i + 16);
                (Vector256.LoadUnsafe(ref gr, (nuint)i + 24) * Vector256.ConvertToSingle(w3.AsInt32())).StoreUnsafe(ref dr, (nuint)i + 24);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dr, i) = Unsafe.Add(ref gr, i) * Unsafe.Add(ref mr, i);
    }
}
