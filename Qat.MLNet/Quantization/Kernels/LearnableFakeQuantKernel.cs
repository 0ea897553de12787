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
/// float in its own order, this sums in double, so the sums agree to rounding, not bit for bit.
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
        for (long i = 0; i < n; i++)
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
