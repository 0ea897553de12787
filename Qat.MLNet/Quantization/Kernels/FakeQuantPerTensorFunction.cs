using Qat.MLNet.Internal;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// Autograd function for per-tensor fake quantization: the forward pass keeps the straight-through mask, the
/// backward pass returns <c>grad * mask</c> for x and nothing for the (non-tensor) quantization parameters.
/// Arguments: x (contiguous float32 CPU), scale (float), zeroPoint, quantMin, quantMax (int).
/// </summary>
internal sealed class FakeQuantPerTensorFunction : autograd.SingleTensorFunction<FakeQuantPerTensorFunction>
{
    /// <inheritdoc />
    public override string Name => "FakeQuantizePerTensorAffineBackward";

    /// <inheritdoc />
    public override unsafe Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        float scale = (float)vars[1];
        int zeroPoint = (int)vars[2], quantMin = (int)vars[3], quantMax = (int)vars[4];
        var y = empty_like(x);
        Tensor? mask = x.requires_grad ? empty(x.shape, ScalarType.Bool) : null;
        long n = x.numel();
        if (n > 0)
        {
            FakeQuantDriver.PerTensor((float*)TensorMemory.Pointer(x), (float*)TensorMemory.Pointer(y),
                mask is null ? null : (byte*)TensorMemory.Pointer(mask), n, scale, zeroPoint, quantMin, quantMax, get_num_threads());
        }
        if (mask is not null)
            ctx.save_for_backward(new List<Tensor> { mask });
        return y;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        => new() { MaskedGradient.Apply(ctx, grad_output), null!, null!, null!, null! };
}
