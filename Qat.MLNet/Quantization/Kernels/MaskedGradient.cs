using Qat.MLNet.Internal;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Kernels;

/// <summary>The straight-through backward pass shared by the fake-quant functions: <c>grad * mask</c>.</summary>
internal static class MaskedGradient
{
    /// <summary>Returns grad * mask, the mask being the one tensor the forward pass saved in <paramref name="ctx"/>.</summary>
    public static unsafe Tensor Apply(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        using var mask = saved[0];
        using var grad = gradOutput.dtype == ScalarType.Float32 ? gradOutput.contiguous() : gradOutput.to(ScalarType.Float32).contiguous();
        var dx = empty_like(grad);
        long n = grad.numel();
        if (n > 0)
        {
            FakeQuantDriver.Backward((float*)TensorMemory.Pointer(grad), (byte*)TensorMemory.Pointer(mask),
                (float*)TensorMemory.Pointer(dx), n, get_num_threads());
        }
        return dx;
    }
}
