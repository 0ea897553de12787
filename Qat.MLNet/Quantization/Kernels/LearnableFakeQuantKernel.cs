using System.Runtime.Intrinsics;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// The backward arithmetic of PyTorch 1.13's learnable fake quantization (LSQ; CPU kernels
/// <c>fake_quantize_learnable_tensor_grad_kernel_cpu</c> / <c>..._channel_grad_kernel_cpu</c>), element by element in
/// float32 as PyTorch evaluates it:
/// <code>
/// xq = round_half_even(zeroPoint + x * (1 / scale))
/// inside [quant_min, quant_max]:  dx = dy,  dscale = dy * (xfq - x) * (1 / scale) * g,  dzero_point = 0
///   with xfq = (clamp(xq) - zeroPoint) * scale
/// below / above:                  dx = 0,   dscale = dy * (quant_min or quant_max - zeroPoint) * g,  dzero_point = -dy * scale * g
/// </code>
/// The per-element scale and zero-point gradients are summed (per channel, or over the tensor); PyTorch sums them in
/// float in its own order, this sums eight float lanes over short blocks and the blocks in double, so the sums agree to
/// rounding, not bit for bit.
/// </summary>
internal static unsafe class LearnableFakeQuantKernel
{
    /// <summary>
    /// Gradients over one run of <paramref name="n"/> elements that share one scale and zero point; adds the run's scale and
    /// zero-point gradients to <paramref name="dScale"/> and <paramref name="dZeroPoint"/>.
    /// </summary>
    public static void Backward(float* x, float* dy, float* dx, long n, float scale, float zeroPoint, int quantMin, int quantMax, float gradFactor,
        ref double dScale, ref double dZeroPoint)
    {
        float inv = 1.0f / scale;
        float small = quantMin - zeroPoint, big = quantMax - zeroPoint;
        double sumScale = 0, sumZeroPoint = 0;
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // The same float operations per element as the scalar loop below, eight at a time; the per-element terms are
            // summed in float lanes over blocks of at most 1,024 elements, then in double.
            var vInv = Vector256.Create(inv);
            var vZero = Vector256.Create(zeroPoint);
            var vScale = Vector256.Create(scale);
            var vLow = Vector256.Create((float)quantMin);
            var vHigh = Vector256.Create((float)quantMax);
            var vSmall = Vector256.Create(small);
            var vBig = Vector256.Create(big);
            var vGrad = Vector256.Create(gradFactor);
            var vMinusOne = Vector256.Create(-1f);
            while (i + Vector256<float>.Count <= n)
            {
                var accScale = Vector256<float>.Zero;
                var accZeroPoint = Vector256<float>.Zero;
                long blockEnd = Math.Min(n - Vector256<float>.Count, i + 1024);
                for (; i <= blockEnd; i += Vector256<float>.Count)
                {
                    var xi = Vector256.Load(x + i);
                    var g = Vector256.Load(dy + i);
                    var xq = Vector256.Round(vZero + xi * vInv);
                    var inside = Vector256.GreaterThanOrEqual(xq, vLow) & Vector256.LessThanOrEqual(xq, vHigh);
                    (g * Vector256.ConditionalSelect(inside, Vector256<float>.One, Vector256<float>.Zero)).Store(dx + i);
                    var xfq = (Vector256.Min(Vector256.Max(xq, vLow), vHigh) - vZero) * vScale;
                    var inScale = g * (xfq - xi) * vInv * vGrad;
                    var outScale = Vector256.ConditionalSelect(Vector256.LessThan(xq, vLow), g * vSmall, g * vBig) * vGrad;
                    accScale += Vector256.ConditionalSelect(inside, inScale, outScale);
                    accZeroPoint += Vector256.ConditionalSelect(inside, Vector256<float>.Zero, g * vMinusOne * vScale * vGrad);
                }
                sumScale += Vector256.Sum(accScale);
                sumZeroPoint += Vector256.Sum(accZeroPoint);
            }
        }
        for (; i < n; i++)
        {
            float xi = x[i], g = dy[i];
            long xq = (long)MathF.Round(zeroPoint + xi * inv, MidpointRounding.ToEven);
            bool inside = xq >= quantMin && xq <= quantMax;
            dx[i] = g * (inside ? 1f : 0f);
            if (inside)
            {
                float xfq = (Math.Clamp(xq, quantMin, quantMax) - zeroPoint) * scale;
                sumScale += g * (xfq - xi) * inv * gradFactor;
            }
            else
            {
                sumZeroPoint += g * -1f * scale * gradFactor;
                sumScale += (xq < quantMin ? g * small : g * big) * gradFactor;
            }
        }
        dScale += sumScale;
        dZeroPoint += sumZeroPoint;
    }
}
