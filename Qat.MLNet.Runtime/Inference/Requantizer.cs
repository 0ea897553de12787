using System.Runtime.CompilerServices;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// Turns an int32 accumulator into an output level, per output channel, as QNNPACK's fp32 requantization does:
/// <code>q = clamp(round_half_even((float)acc * multiplier[c]) + zeroPoint, low, high)</code>
/// with <c>multiplier[c] = weightScale[c] * inputScale / outputScale</c> in float32, and <c>low</c> raised to the zero point
/// when a ReLU is fused.
/// </summary>
internal sealed class Requantizer
{
    public Requantizer(float[] multipliers, int zeroPoint, int low, int high)
    {
        Multipliers = multipliers;
        ZeroPoint = zeroPoint;
        Low = low;
        High = high;
    }

    public float[] Multipliers { get; }

    public int ZeroPoint { get; }

    public int Low { get; }

    public int High { get; }

    /// <summary>The requantizer of a layer with the given scales; <paramref name="relu"/> clamps below at the zero point.</summary>
    public static Requantizer For(float inputScale, float[] weightScales, QuantizationParameters output, bool relu)
    {
        var multipliers = new float[weightScales.Length];
        for (int c = 0; c < multipliers.Length; c++)
            multipliers[c] = weightScales[c] * inputScale / output.Scale;
        int low = relu ? Math.Max(output.QuantMin, output.ZeroPoint) : output.QuantMin;
        return new Requantizer(multipliers, output.ZeroPoint, low, output.QuantMax);
    }

    /// <summary>The output level of accumulator <paramref name="acc"/> in channel <paramref name="channel"/>.</summary>
    // Inlined into the kernels' optimized callers: as a call it would run as tier-0 code for the first ~100 ms.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte Apply(int acc, int channel)
    {
        return (byte)RoundAddClamp.Apply(acc * Multipliers[channel], ZeroPoint, Low, High);
    }
}
