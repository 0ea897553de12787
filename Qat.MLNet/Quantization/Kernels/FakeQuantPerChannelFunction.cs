using Qat.MLNet.Internal;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// Autograd function for per-channel fake quantization. Arguments: x (contiguous float32 CPU), scales (float[]),
/// zeroPoints (int[]), axis, quantMin, quantMax (int). Backward: <c>grad * mask</c> for x.
/// </summary>
internal sealed class FakeQuantPerChannelFunction : autograd.SingleTensorFunction<FakeQuantPerChannelFunction>
{
    /// <inheritdoc />
    public override string Name => "FakeQuantizePerChannelAffineBackward";

    /// <inheritdoc />
    public override unsafe Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var scales = (float[])vars[1];
        var zeroPoints = (int[])vars[2];
        int axis = (int)vars[3], quantMin = (int)vars[4], quantMax = (int)vars[5];
        var shape = x.shape;
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
            outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++)
            inner *= shape[d];

        var y = empty_like(x);
        Tensor? mask = x.requires_grad ? empty(x.shape, ScalarType.Bool) : null;
        if (x.numel() > 0)
        {
            FakeQuantDriver.PerChannel((float*)TensorMemory.Pointer(x), (float*)TensorMemory.Pointer(y),
                mask is null ? null : (byte*)TensorMemory.Pointer(mask), outer, (int)shape[axis], inner,
                scales, zeroPoints, quantMin, quantMax, get_num_threads());
        }
        if (mask is not null)
            ctx.save_for_backward(new List<Tensor> { mask });
        return y;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        => new() { MaskedGradient.Apply(ctx, grad_output), null!, null!, null!, null!, null! };
}
