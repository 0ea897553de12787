using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The one quantization step every kernel shares, in float32, written once with a scalar and two vector forms (as
/// TensorPrimitives writes an operator):
/// <code>
/// q = round_half_even(scaled) + zeroPoint        // scaled = x * (1f / scale), or acc * multiplier
/// c = clamp(q, low, high)                        // written q &gt; low ? q : low, then c &lt; high ? c : high
/// </code>
/// Every form gives the same bits: NaN lands on <c>low</c> (a NaN compares false), +Infinity on <c>high</c>. Users:
/// input quantization, requantization of int32 accumulators (scalar and AVX-512 kernels), average pooling, and the
/// fake-quantization kernels of training, whose straight-through mask is <c>c == q</c>.
/// </summary>
internal static class RoundAddClamp
{
    /// <summary><c>round_half_even(scaled) + zeroPoint</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RoundAdd(float scaled, float zeroPoint) => MathF.Round(scaled) + zeroPoint;

    /// <summary><c>clamp(q, low, high)</c>, NaN to <paramref name="low"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Clamp(float q, float low, float high)
    {
        float c = q > low ? q : low;
        return c < high ? c : high;
    }

    /// <summary><c>clamp(round_half_even(scaled) + zeroPoint, low, high)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float scaled, float zeroPoint, float low, float high) => Clamp(RoundAdd(scaled, zeroPoint), low, high);

    /// <summary>The 256-bit form of <see cref="RoundAdd(float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> RoundAdd(Vector256<float> scaled, Vector256<float> zeroPoint) => Vector256.Round(scaled) + zeroPoint;

    /// <summary>The 256-bit form of <see cref="Clamp(float, float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> q, Vector256<float> low, Vector256<float> high)
    {
        var c = Vector256.ConditionalSelect(Vector256.GreaterThan(q, low), q, low);
        return Vector256.ConditionalSelect(Vector256.LessThan(c, high), c, high);
    }

    /// <summary>The 256-bit form of <see cref="Apply(float, float, float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> scaled, Vector256<float> zeroPoint, Vector256<float> low, Vector256<float> high) =>
        Clamp(RoundAdd(scaled, zeroPoint), low, high);

    /// <summary>The 512-bit form of <see cref="RoundAdd(float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundAdd(Vector512<float> scaled, Vector512<float> zeroPoint) => Vector512.Round(scaled) + zeroPoint;

    /// <summary>The 512-bit form of <see cref="Clamp(float, float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> q, Vector512<float> low, Vector512<float> high)
    {
        var c = Vector512.ConditionalSelect(Vector512.GreaterThan(q, low), q, low);
        return Vector512.ConditionalSelect(Vector512.LessThan(c, high), c, high);
    }

    /// <summary>The 512-bit form of <see cref="Apply(float, float, float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> scaled, Vector512<float> zeroPoint, Vector512<float> low, Vector512<float> high) =>
        Clamp(RoundAdd(scaled, zeroPoint), low, high);
}
