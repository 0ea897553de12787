using Qat.MLNet.Internal;

namespace Qat.MLNet.Quantization;

/// <summary>
/// The integer range [QuantMin, QuantMax] an observer quantizes to, computed exactly as PyTorch 1.13's
/// <c>_ObserverBase._calculate_qmin_qmax</c>.
/// </summary>
/// <remarks>
/// Without a custom range: quint8 is [0, 255] ([0, 127] with <c>reduceRange</c>), qint8 is [-128, 127]
/// ([-64, 63] with <c>reduceRange</c>), qint32 is the full int32 range.
/// With a custom range (both <c>quantMin</c> and <c>quantMax</c> given), PyTorch keeps only its length
/// <c>n = quantMax - quantMin + 1</c>: qint8 becomes [-n/2, n/2 - 1] (floor division), quint8 and qint32 become
/// [0, n - 1]; <c>reduceRange</c> then halves both ends (floor division). This is why PyTorch's fbgemm activation
/// setting "quant_min=0, quant_max=255, reduce_range=True" yields [0, 127].
/// </remarks>
public static class QuantRange
{
    /// <summary>Computes the effective range.</summary>
    /// <param name="quantMin">The requested lower end, or null for the dtype's default. Must be given together with <paramref name="quantMax"/>.</param>
    /// <param name="quantMax">The requested upper end, or null for the dtype's default.</param>
    /// <param name="dtype">The quantized type.</param>
    /// <param name="reduceRange">Whether to drop one bit (fbgemm's 7-bit activations).</param>
    /// <returns>The effective [QuantMin, QuantMax].</returns>
    /// <exception cref="ArgumentException">
    /// Only one end is given; the range does not include 0; quantMin is not below quantMax; or the range lies outside
    /// the dtype.
    /// </exception>
    public static (int QuantMin, int QuantMax) Calculate(int? quantMin, int? quantMax, QuantDType dtype, bool reduceRange)
    {
        if (quantMin.HasValue != quantMax.HasValue)
            throw new ArgumentException(
                $"quantMin ({Guard.Format(quantMin)}) and quantMax ({Guard.Format(quantMax)}) must be given together, or both left null for the {dtype.TorchName()} default.",
                quantMin.HasValue ? nameof(quantMax) : nameof(quantMin));

        if (quantMin is int qmin && quantMax is int qmax)
        {
            Validate(qmin, qmax, dtype);
            long length = (long)qmax - qmin + 1;
            long lo, hi;
            if (dtype == QuantDType.QInt8)
            {
                lo = FloorDiv(-length, 2);
                hi = FloorDiv(length, 2) - 1;
            }
            else
            {
                lo = 0;
                hi = length - 1;
            }
            if (reduceRange)
            {
                lo = FloorDiv(lo, 2);
                hi = FloorDiv(hi, 2);
            }
            return ((int)lo, (int)Math.Min(hi, int.MaxValue));
        }

        return dtype switch
        {
            QuantDType.QInt8 => reduceRange ? (-64, 63) : (-128, 127),
            QuantDType.QUInt8 => reduceRange ? (0, 127) : (0, 255),
            QuantDType.QInt32 => reduceRange ? (int.MinValue / 2, int.MaxValue / 2) : (int.MinValue, int.MaxValue),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown QuantDType."),
        };
    }

    /// <summary>
    /// Checks a user-given range the way PyTorch's observers and <c>FakeQuantize</c> do: it must include 0, quantMin must be
    /// below quantMax, and both must lie inside the dtype.
    /// </summary>
    /// <exception cref="ArgumentException">The range breaks one of the rules.</exception>
    public static void Validate(int quantMin, int quantMax, QuantDType dtype)
    {
        Guard.Require(quantMin <= quantMax, nameof(quantMin), quantMin, $"must be <= quantMax ({quantMax}).");
        Guard.Require(quantMin < quantMax, nameof(quantMin), quantMin, $"must be < quantMax ({quantMax}): a range needs at least two levels.");
        Guard.Require(quantMin <= 0 && quantMax >= 0, nameof(quantMin), quantMin, $"to quantMax ({quantMax}) must include 0.");
        Guard.Require(quantMin >= dtype.MinValue(), nameof(quantMin), quantMin, $"is below the smallest {dtype.TorchName()} value ({dtype.MinValue()}).");
        Guard.Require(quantMax <= dtype.MaxValue(), nameof(quantMax), quantMax, $"is above the largest {dtype.TorchName()} value ({dtype.MaxValue()}).");
    }

    private static long FloorDiv(long a, long b) => (long)Math.Floor((double)a / b);
}
