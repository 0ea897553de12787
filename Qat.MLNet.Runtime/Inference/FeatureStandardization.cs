using System.Runtime.CompilerServices;
using System.Numerics;

namespace Qat.MLNet.Inference;

/// <summary>
/// A per-feature affine step in front of input quantization: <c>x'[i] = (x[i] - Mean[i]) * Scale[i]</c>, in float32, with
/// <c>Scale[i] = 1 / standard deviation</c> of feature i over the training data (1 for a constant feature). One per-tensor
/// input scale cannot represent features whose magnitudes differ by orders of magnitude; standardized, they share one.
/// The trainer computes exactly these floats on its mini-batches, so the int8 model sees what the QAT model saw.
/// </summary>
public sealed class FeatureStandardization
{
    private readonly float[] _mean;
    private readonly float[] _scale;

    /// <summary>Creates the step; the arrays are copied.</summary>
    /// <param name="mean">Per-feature means, finite.</param>
    /// <param name="scale">Per-feature multipliers (1 / standard deviation), positive and finite.</param>
    /// <exception cref="ArgumentException">The lengths differ, are 0, or a value is not finite (scale not positive).</exception>
    public FeatureStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> scale)
    {
        if (mean.Length == 0 || mean.Length != scale.Length)
            throw new ArgumentException($"mean ({mean.Length} values) and scale ({scale.Length} values) must have the same, positive length.", nameof(mean));
        for (int i = 0; i < mean.Length; i++)
        {
            if (!float.IsFinite(mean[i]))
                throw new ArgumentException($"mean[{i}] ({mean[i]}) must be finite.", nameof(mean));
            if (!(float.IsFinite(scale[i]) && scale[i] > 0))
                throw new ArgumentException($"scale[{i}] ({scale[i]}) must be positive and finite.", nameof(scale));
        }
        _mean = mean.ToArray();
        _scale = scale.ToArray();
    }

    /// <summary>Features it applies to.</summary>
    public int Count => _mean.Length;

    /// <summary>Per-feature means (a copy).</summary>
    public float[] Mean => (float[])_mean.Clone();

    /// <summary>Per-feature multipliers, 1 / standard deviation (a copy).</summary>
    public float[] Scale => (float[])_scale.Clone();

    /// <summary>
    /// Standardizes <paramref name="rows"/> samples of <see cref="Count"/> features from <paramref name="input"/> into
    /// <paramref name="output"/> (may be the same memory). Vector and scalar paths give the same bits (a subtraction then a
    /// multiplication, no fused multiply-add).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public void Apply(ReadOnlySpan<float> input, Span<float> output, int rows)
    {
        int n = Count;
        if (input.Length < (long)rows * n || output.Length < (long)rows * n)
            throw new ArgumentException($"{rows} samples of {n} features need {(long)rows * n} values.", nameof(input));
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * n, n);
            var y = output.Slice(r * n, n);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                for (; i + w <= n; i += w)
                    ((new Vector<float>(x[i..]) - new Vector<float>(_mean, i)) * new Vector<float>(_scale, i)).CopyTo(y[i..]);
            }
            for (; i < n; i++)
                y[i] = (x[i] - _mean[i]) * _scale[i];
        }
    }

    /// <summary>The standardization of the given per-feature statistics: scale 1 where the deviation is 0 or not finite.</summary>
    public static FeatureStandardization FromMoments(ReadOnlySpan<double> mean, ReadOnlySpan<double> standardDeviation)
    {
        var m = new float[mean.Length];
        var s = new float[mean.Length];
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = (float)mean[i];
            double sd = standardDeviation[i];
            float inverse = (float)(1 / sd);
            s[i] = sd > 0 && float.IsFinite(inverse) && inverse > 0 ? inverse : 1f;
        }
        return new FeatureStandardization(m, s);
    }
}
