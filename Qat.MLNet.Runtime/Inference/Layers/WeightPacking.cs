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

    /// <summary>Each weight row as int16 pairs packed in int32 (<c>low = w[2k], high = w[2k + 1]</c>), an odd tail paired with 0.</summary>
    public static int[] Int16Pairs(sbyte[] weights, int rows, int k)
    {
        int pairs = (k + 1) / 2;
        var packed = new int[rows * pairs];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < pairs; j++)
            {
                short lo = weights[r * k + 2 * j];
                short hi = 2 * j + 1 < k ? weights[r * k + 2 * j + 1] : (short)0;
                packed[r * pairs + j] = (ushort)lo | (hi << 16);
            }
        }
        return packed;
    }

    /// <summary>
    /// The weights as sbyte quads with output channels along a row (<see cref="AvxVnniLinear"/>): int <c>[q][o]</c> holds
    /// <c>w[o][4q..4q+3]</c>, rows <see cref="AvxVnniLinear.PaddedOutputs"/> wide; reduction steps past k and channels past
    /// the last are zero.
    /// </summary>
    public static int[] OutputQuads(sbyte[] weights, int rows, int k)
    {
        int quads = (k + 3) / 4, width = AvxVnniLinear.PaddedOutputs(rows);
        var packed = new int[quads * width];
        for (int o = 0; o < rows; o++)
        {
            for (int i = 0; i < k; i++)
                packed[(i / 4) * width + o] |= (byte)weights[o * k + i] << (8 * (i % 4));
        }
        return packed;
    }

    /// <summary><paramref name="values"/> followed by zeros up to <paramref name="length"/> (vector loads past the last channel).</summary>
    public static T[] PadTo<T>(T[] values, int length)
    {
        var padded = new T[Math.Max(length, values.Length)];
        values.CopyTo(padded, 0);
        return padded;
    }
}
