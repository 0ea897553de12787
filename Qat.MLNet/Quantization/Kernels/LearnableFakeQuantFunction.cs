using Qat.MLNet.Internal;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// Autograd function of learnable fake quantization (PyTorch: <c>torch._fake_quantize_learnable_per_tensor_affine</c> and
/// <c>_per_channel_affine</c>). Arguments: x (contiguous float32 CPU), scale and zero point (float32 tensors of one
/// element, or one per channel; both get gradients), axis (-1 per tensor), quantMin, quantMax (int), gradFactor (float).
/// Forward: the ordinary fake quantization with the zero point rounded (per tensor: half to even then clamped, as
/// <c>_get_zero_point_from_tensor(.., is_forward=true)</c>; per channel: <c>round().clamp()</c>). Backward:
/// <see cref="LearnableFakeQuantKernel"/> with the zero point PyTorch's backward uses (per tensor: <c>(int)clamp(zp + 0.5)</c>;
/// per channel: the rounded one).
/// </summary>
internal sealed class LearnableFakeQuantFunction : autograd.SingleTensorFunction<LearnableFakeQuantFunction>
{
    /// <inheritdoc />
    public override string Name => "FakeQuantizeLearnableAffineBackward";

    /// <inheritdoc />
    public override unsafe Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var scale = (Tensor)vars[1];
        var zeroPoint = (Tensor)vars[2];
        int axis = (int)vars[3], quantMin = (int)vars[4], quantMax = (int)vars[5];
        var scales = TensorMemory.ToFloatArray(scale);
        var zeroPoints = TensorMemory.ToFloatArray(zeroPoint);
        var y = empty_like(x);
        if (x.numel() > 0)
        {
            if (axis < 0)
            {
                int zp = (int)Math.Clamp(MathF.Round(zeroPoints[0], MidpointRounding.ToEven), quantMin, quantMax);
                FakeQuantDriver.PerTensor((float*)TensorMemory.Pointer(x), (float*)TensorMemory.Pointer(y), null, x.numel(), scales[0], zp, quantMin, quantMax, get_num_threads());
            }
            else
            {
                var (outer, inner) = Extents(x.shape, axis);
                var rounded = zeroPoints.Select(z => (int)Math.Clamp(MathF.Round(z, MidpointRounding.ToEven), quantMin, quantMax)).ToArray();
                FakeQuantDriver.PerChannel((float*)TensorMemory.Pointer(x), (float*)TensorMemory.Pointer(y), null, outer, (int)x.shape[axis], inner,
                    scales, rounded, quantMin, quantMax, get_num_threads());
            }
        }
        // x is saved without a copy (nothing the QAT modules run writes into a fake-quantize's input); the one-element
        // or per-channel qparams are copied, as the optimizer may step them before backward reads them.
        ctx.save_for_backward([x.detach(), scale.detach().clone(), zeroPoint.detach().clone()]);
        ctx.save_data("axis", axis);
        ctx.save_data("quant_min", quantMin);
        ctx.save_data("quant_max", quantMax);
        ctx.save_data("grad_factor", (float)vars[6]);
        return y;
    }

    /// <inheritdoc />
    public override unsafe List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        using var x = saved[0];
        using var scaleTensor = saved[1];
        using var zeroPointTensor = saved[2];
        int axis = (int)ctx.get_data("axis"), quantMin = (int)ctx.get_data("quant_min"), quantMax = (int)ctx.get_data("quant_max");
        float gradFactor = (float)ctx.get_data("grad_factor");
        var scales = TensorMemory.ToFloatArray(scaleTensor);
        var zeroPoints = TensorMemory.ToFloatArray(zeroPointTensor);
        using var dy = grad_output.dtype == ScalarType.Float32 ? grad_output.contiguous() : grad_output.to(ScalarType.Float32).contiguous();
        var dx = empty_like(x);
        var dScale = new double[scales.Length];
        var dZeroPoint = new double[scales.Length];
        float* xp = (float*)TensorMemory.Pointer(x), dyp = (float*)TensorMemory.Pointer(dy), dxp = (float*)TensorMemory.Pointer(dx);
        if (axis < 0)
        {
            // PyTorch's backward takes the zero point as (int)clamp(zp + 0.5): half up, unlike the forward's half to even.
            float zp = (long)Math.Clamp(zeroPoints[0] + 0.5f, quantMin, quantMax);
            (dScale[0], dZeroPoint[0]) = FakeQuantDriver.LearnableBackward(xp, dyp, dxp, x.numel(), scales[0], zp, quantMin, quantMax, gradFactor, get_num_threads());
        }
        else
        {
            var (outer, inner) = Extents(x.shape, axis);
            int channels = scales.Length;
            for (long o = 0; o < outer; o++)
            {
                for (int c = 0; c < channels; c++)
                {
                    long start = (o * channels + c) * inner;
                    float zp = Math.Clamp(MathF.Round(zeroPoints[c], MidpointRounding.ToEven), quantMin, quantMax);
                    LearnableFakeQuantKernel.Backward(xp + start, dyp + start, dxp + start, inner, scales[c], zp, quantMin, quantMax, gradFactor, ref dScale[c], ref dZeroPoint[c]);
                }
            }
        }
        var shape = scaleTensor.shape;
        return [dx, tensor(dScale.Select(v => (float)v).ToArray(), shape), tensor(dZeroPoint.Select(v => (float)v).ToArray(), shape), null!, null!, null!, null!];
    }

    /// <summary>A contiguous tensor seen as [outer, channels, inner] around <paramref name="axis"/>.</summary>
    private static (long Outer, long Inner) Extents(long[] shape, int axis)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
            outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++)
            inner *= shape[d];
        return (outer, inner);
    }
}
