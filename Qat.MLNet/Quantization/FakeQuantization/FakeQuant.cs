using Qat.MLNet.Internal;
using Qat.MLNet.Quantization.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Fake quantization: quantize and dequantize in one step, in float, with PyTorch's straight-through gradient
/// (PyTorch: <c>torch.fake_quantize_per_tensor_affine</c> and <c>torch.fake_quantize_per_channel_affine</c>).
/// </summary>
/// <remarks>
/// <code>
/// q  = round_half_even(x * (1f / scale)) + zeroPoint
/// y  = (clamp(q, quantMin, quantMax) - zeroPoint) * scale
/// dy/dx = 1 where quantMin &lt;= q &lt;= quantMax, else 0
/// </code>
/// All arithmetic is float32, bit for bit as PyTorch's CPU kernel; the scale and zero point get no gradient.
/// Inputs must be float32 CPU tensors; the result is a new contiguous tensor that records the autograd graph when
/// <c>x.requires_grad</c> is set. NaN inputs produce <c>(quantMin - zeroPoint) * scale</c> with gradient 0.
/// </remarks>
public static class FakeQuant
{
    /// <summary>Per-tensor fake quantization with one scale and zero point.</summary>
    /// <param name="x">A float32 CPU tensor of any shape.</param>
    /// <param name="scale">The quantization step; positive and finite.</param>
    /// <param name="zeroPoint">The integer that represents 0.0; within [quantMin, quantMax].</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level; at least <paramref name="quantMin"/>.</param>
    /// <returns>The fake-quantized tensor, same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ArgumentException">An argument breaks the rules above.</exception>
    public static Tensor PerTensorAffine(Tensor x, float scale, int zeroPoint, int quantMin, int quantMax)
    {
        CheckInput(x);
        QParamsCheck.Range(quantMin, quantMax);
        QParamsCheck.Scale(scale, nameof(scale));
        QParamsCheck.ZeroPoint(zeroPoint, quantMin, quantMax, nameof(zeroPoint));
        using var scope = NewDisposeScope();
        var input = x.is_contiguous() ? x : x.contiguous();
        return FakeQuantPerTensorFunction.apply(input, scale, zeroPoint, quantMin, quantMax).MoveToOuterDisposeScope();
    }

    /// <summary>Per-tensor fake quantization with the scale and zero point given as one-element tensors (as <c>FakeQuantize</c> keeps them).</summary>
    /// <param name="x">A float32 CPU tensor of any shape.</param>
    /// <param name="scale">A one-element float tensor.</param>
    /// <param name="zeroPoint">A one-element integer tensor.</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level.</param>
    /// <returns>The fake-quantized tensor.</returns>
    /// <exception cref="ArgumentException">A tensor has more than one element, or a value breaks the rules of the scalar overload.</exception>
    public static Tensor PerTensorAffine(Tensor x, Tensor scale, Tensor zeroPoint, int quantMin, int quantMax)
    {
        Guard.NotNull(scale, nameof(scale));
        Guard.NotNull(zeroPoint, nameof(zeroPoint));
        Guard.Require(scale.numel() == 1, nameof(scale), $"tensor of {scale.numel()} elements", "must hold exactly one element for per-tensor fake quantization.");
        Guard.Require(zeroPoint.numel() == 1, nameof(zeroPoint), $"tensor of {zeroPoint.numel()} elements", "must hold exactly one element for per-tensor fake quantization.");
        return PerTensorAffine(x, TensorMemory.ToFloatArray(scale)[0], TensorMemory.ToInt32Array(zeroPoint)[0], quantMin, quantMax);
    }

    /// <summary>Per-channel fake quantization: slice <c>c</c> along <paramref name="axis"/> uses <c>scales[c]</c> and <c>zeroPoints[c]</c>.</summary>
    /// <param name="x">A float32 CPU tensor with at least one dimension.</param>
    /// <param name="scales">One positive finite scale per channel (a 1-D float tensor of length <c>x.shape[axis]</c>).</param>
    /// <param name="zeroPoints">One zero point per channel, each within [quantMin, quantMax].</param>
    /// <param name="axis">The channel dimension, in [0, x.dim()).</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level.</param>
    /// <returns>The fake-quantized tensor.</returns>
    /// <exception cref="ArgumentException">An argument breaks the rules above.</exception>
    public static Tensor PerChannelAffine(Tensor x, Tensor scales, Tensor zeroPoints, long axis, int quantMin, int quantMax)
    {
        Guard.NotNull(scales, nameof(scales));
        Guard.NotNull(zeroPoints, nameof(zeroPoints));
        Guard.Require(scales.dim() == 1, nameof(scales), $"tensor of shape [{string.Join(", ", scales.shape)}]", "must be one-dimensional.");
        Guard.Require(zeroPoints.dim() == 1, nameof(zeroPoints), $"tensor of shape [{string.Join(", ", zeroPoints.shape)}]", "must be one-dimensional.");
        return PerChannelAffine(x, TensorMemory.ToFloatArray(scales), TensorMemory.ToInt32Array(zeroPoints), axis, quantMin, quantMax);
    }

    /// <summary>Per-channel fake quantization with the scales and zero points given as arrays.</summary>
    /// <param name="x">A float32 CPU tensor with at least one dimension.</param>
    /// <param name="scales">One positive finite scale per channel.</param>
    /// <param name="zeroPoints">One zero point per channel, each within [quantMin, quantMax].</param>
    /// <param name="axis">The channel dimension, in [0, x.dim()).</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level.</param>
    /// <returns>The fake-quantized tensor.</returns>
    /// <exception cref="ArgumentException">An argument breaks the rules above.</exception>
    public static Tensor PerChannelAffine(Tensor x, float[] scales, int[] zeroPoints, long axis, int quantMin, int quantMax)
    {
        CheckInput(x);
        Guard.NotNull(scales, nameof(scales));
        Guard.NotNull(zeroPoints, nameof(zeroPoints));
        QParamsCheck.Range(quantMin, quantMax);
        long dims = x.dim();
        Guard.InRange(axis >= 0 && axis < dims, nameof(axis), axis, $"must be in [0, {dims}) for an input of shape [{string.Join(", ", x.shape)}].");
        long channels = x.shape[axis];
        Guard.Require(scales.Length == channels, nameof(scales), $"length {scales.Length}", $"must equal x.shape[{axis}] ({channels}).");
        Guard.Require(zeroPoints.Length == channels, nameof(zeroPoints), $"length {zeroPoints.Length}", $"must equal x.shape[{axis}] ({channels}).");
        QParamsCheck.PerChannel(scales, zeroPoints, quantMin, quantMax);
        using var scope = NewDisposeScope();
        var input = x.is_contiguous() ? x : x.contiguous();
        return FakeQuantPerChannelFunction.apply(input, (float[])scales.Clone(), (int[])zeroPoints.Clone(), (int)axis, quantMin, quantMax)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-tensor fake quantization with a learnable scale and zero point (PyTorch:
    /// <c>torch._fake_quantize_learnable_per_tensor_affine</c>): the forward pass rounds the float zero point; the backward
    /// pass gives x the straight-through gradient and scale and zero point LSQ's gradients, times <paramref name="gradFactor"/>.
    /// </summary>
    /// <param name="x">A float32 CPU tensor of any shape.</param>
    /// <param name="scale">A one-element float32 tensor, positive (usually a parameter).</param>
    /// <param name="zeroPoint">A one-element float32 tensor (usually a parameter).</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level.</param>
    /// <param name="gradFactor">The factor on the scale's and zero point's gradients (1, or LSQ's <c>1 / sqrt(numel x quant_max)</c>).</param>
    /// <returns>The fake-quantized tensor.</returns>
    /// <exception cref="ArgumentException">An argument breaks the rules above.</exception>
    public static Tensor LearnablePerTensorAffine(Tensor x, Tensor scale, Tensor zeroPoint, int quantMin, int quantMax, float gradFactor = 1f)
    {
        CheckInput(x);
        QParamsCheck.Range(quantMin, quantMax);
        CheckLearnable(scale, zeroPoint, 1);
        using var scope = NewDisposeScope();
        var input = x.is_contiguous() ? x : x.contiguous();
        return LearnableFakeQuantFunction.apply(input, scale, zeroPoint, -1, quantMin, quantMax, gradFactor).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-channel fake quantization with learnable scales and zero points (PyTorch:
    /// <c>torch._fake_quantize_learnable_per_channel_affine</c>); as <see cref="LearnablePerTensorAffine"/>, one scale and zero
    /// point per slice along <paramref name="axis"/>.
    /// </summary>
    /// <param name="x">A float32 CPU tensor with at least one dimension.</param>
    /// <param name="scale">A float32 tensor of <c>x.shape[axis]</c> positive scales.</param>
    /// <param name="zeroPoint">A float32 tensor of <c>x.shape[axis]</c> zero points.</param>
    /// <param name="axis">The channel dimension, in [0, x.dim()).</param>
    /// <param name="quantMin">The smallest integer level.</param>
    /// <param name="quantMax">The largest integer level.</param>
    /// <param name="gradFactor">The factor on the scales' and zero points' gradients.</param>
    /// <returns>The fake-quantized tensor.</returns>
    /// <exception cref="ArgumentException">An argument breaks the rules above.</exception>
    public static Tensor LearnablePerChannelAffine(Tensor x, Tensor scale, Tensor zeroPoint, long axis, int quantMin, int quantMax, float gradFactor = 1f)
    {
        CheckInput(x);
        QParamsCheck.Range(quantMin, quantMax);
        Guard.InRange(axis >= 0 && axis < x.dim(), nameof(axis), axis, $"must be in [0, {x.dim()}) for an input of shape [{string.Join(", ", x.shape)}].");
        CheckLearnable(scale, zeroPoint, x.shape[axis]);
        using var scope = NewDisposeScope();
        var input = x.is_contiguous() ? x : x.contiguous();
        return LearnableFakeQuantFunction.apply(input, scale, zeroPoint, (int)axis, quantMin, quantMax, gradFactor).MoveToOuterDisposeScope();
    }

    private static void CheckLearnable(Tensor scale, Tensor zeroPoint, long count)
    {
        Guard.NotNull(scale, nameof(scale));
        Guard.NotNull(zeroPoint, nameof(zeroPoint));
        Guard.Require(scale.dtype == ScalarType.Float32 && scale.numel() == count, nameof(scale), $"{scale.dtype} tensor of {scale.numel()} elements", $"must be a Float32 tensor of {count} element(s).");
        Guard.Require(zeroPoint.dtype == ScalarType.Float32 && zeroPoint.numel() == count, nameof(zeroPoint), $"{zeroPoint.dtype} tensor of {zeroPoint.numel()} elements", $"must be a Float32 tensor of {count} element(s).");
        var scales = TensorMemory.ToFloatArray(scale);
        Guard.Require(scales.All(s => float.IsFinite(s) && s > 0), nameof(scale), string.Join(", ", scales.Take(8)), "must be positive and finite.");
        Guard.Require(TensorMemory.ToFloatArray(zeroPoint).All(float.IsFinite), nameof(zeroPoint), "non-finite", "must be finite.");
    }

    private static void CheckInput(Tensor x)
    {
        Guard.NotNull(x, nameof(x));
        Guard.Require(x.dtype == ScalarType.Float32, nameof(x), $"dtype {x.dtype}", "must be Float32: convert it with x.to(ScalarType.Float32).");
        Guard.Require(x.device_type == DeviceType.CPU, nameof(x), $"device {x.device}", "must be on the CPU: move it with x.cpu().");
    }
}
