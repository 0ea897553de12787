using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>Weight layouts and constants the int8 layers precompute once.</summary>
internal static class WeightPacking
{
    /// <summary>Rows of <paramref name="k"/> weights copied into rows of <see cref="Int8Gemm.PaddedLength"/>, zero padded.</summary>
    public static sbyte[] PadRows(sbyte[] weights, int rows, int k)
    {
        int kp = Int8Gemm.PaddedLength(k);
        var padded = new sbyte[rows * kp + Int8Gemm.Slack];
        for (int r = 0; r < rows; r++)
            Array.Copy(weights, r * k, padded, r * kp, k);
        return padded;
    }

    /// <summary><c>bias[o] - inputZeroPoint * sum_k w[o, k]</c>: folds the input zero point into the bias.</summary>
    public static int[] CorrectBias(sbyte[] weights, int[] bias, int rows, int k, int inputZeroPoint)
    {
        var corrected = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            long sum = 0;
            for (int i = 0; i < k; i++)
                sum += weights[r * k + i];
            corrected[r] = checked(bias[r] - (int)(inputZeroPoint * sum));
        }
        return corrected;
    }

    /// <summary>Per-channel scales: the given ones, or one per-tensor scale repeated.</summary>
    public static float[] PerChannel(float[] scales, int channels)
        => scales.Length == channels ? scales : Enumerable.Repeat(scales[0], channels).ToArray();
}
