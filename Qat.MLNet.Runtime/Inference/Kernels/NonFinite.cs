using System.Runtime.CompilerServices;
using System.Numerics;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>Finds NaN and infinity in float data: the engine's input check, and the trainer's and scorer's per-row check.</summary>
internal static class NonFinite
{
    /// <summary>Index of the first value that is NaN or infinite, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static int IndexOf(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var exponent = new Vector<uint>(0x7F800000u);
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(values);
            for (int v = 0; v < vectors.Length; v++)
            {
                // A float is NaN or infinite exactly when all its exponent bits are set.
                if (Vector.EqualsAny(Vector.AsVectorUInt32(vectors[v]) & exponent, exponent))
                    break;
                i += Vector<float>.Count;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                return i;
        return -1;
    }
}
