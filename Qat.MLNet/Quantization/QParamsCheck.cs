using Qat.MLNet.Internal;

namespace Qat.MLNet.Quantization;

/// <summary>Checks of quantization parameters shared by the fake-quant functions, observers and FakeQuantize.</summary>
internal static class QParamsCheck
{
    /// <summary>quantMin must not exceed quantMax.</summary>
    public static void Range(int quantMin, int quantMax)
        => Guard.Require(quantMin <= quantMax, "quantMin", quantMin, $"must be <= quantMax ({quantMax}).");

    /// <summary>A custom range must lie inside what <paramref name="dtype"/> holds.</summary>
    public static void FitsDtype(int quantMin, int quantMax, QuantDType dtype)
    {
        Guard.Require(quantMin >= dtype.MinValue(), "quantMin", quantMin, $"is below the smallest {dtype.TorchName()} value ({dtype.MinValue()}).");
        Guard.Require(quantMax <= dtype.MaxValue(), "quantMax", quantMax, $"is above the largest {dtype.TorchName()} value ({dtype.MaxValue()}).");
    }

    /// <summary>A scale must be positive and finite.</summary>
    public static void Scale(float scale, string name)
        => Guard.Require(float.IsFinite(scale) && scale > 0f, name, scale, "must be a positive finite number.");

    /// <summary>A zero point must lie in [quantMin, quantMax].</summary>
    public static void ZeroPoint(int zeroPoint, int quantMin, int quantMax, string name)
        => Guard.Require(zeroPoint >= quantMin && zeroPoint <= quantMax, name, zeroPoint, $"must be within [quantMin, quantMax] = [{quantMin}, {quantMax}].");

    /// <summary>Checks every scale and zero point of a per-channel set; names the first bad one (formats names only on failure).</summary>
    public static void PerChannel(float[] scales, int[] zeroPoints, int quantMin, int quantMax)
    {
        for (int c = 0; c < scales.Length; c++)
        {
            if (!(float.IsFinite(scales[c]) && scales[c] > 0f))
                Scale(scales[c], $"scales[{c}]");
            if (zeroPoints[c] < quantMin || zeroPoints[c] > quantMax)
                ZeroPoint(zeroPoints[c], quantMin, quantMax, $"zeroPoints[{c}]");
        }
    }
}
