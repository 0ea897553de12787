using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The last step of the 256-bit kernels (AVX-VNNI, AVX2): eight int32 accumulators (bias added) requantized as <see cref="Requantizer.Apply"/>
/// does, <c>clamp(round_half_even(acc * multiplier) + zeroPoint, low, high)</c>, and written as bytes, whole or the first
/// <c>count</c> of them at the end of a row.
/// </summary>
internal static unsafe class EightLaneStore
{
    /// <summary>Requantizes <paramref name="acc"/> with per-lane <paramref name="multipliers"/> and writes min(8, <paramref name="count"/>) bytes to <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<int> acc, Vector256<float> multipliers, int zeroPoint, int low, int high, byte* dst, int count)
    {
        var f = Vector256.ConvertToSingle(acc) * multipliers;
        var q = Vector256.ConvertToInt32(RoundAddClamp.Apply(f, Vector256.Create((float)zeroPoint), Vector256.Create((float)low), Vector256.Create((float)high)));
        ulong bytes = ToBytes(q); // every lane is in [low, high], inside 0..255
        if (count >= 8)
        {
            *(ulong*)dst = bytes;
        }
        else
        {
            for (int i = 0; i < count; i++, bytes >>= 8)
                dst[i] = (byte)bytes;
        }
    }

    /// <summary>Eight int32 lanes, each already in 0..255, as eight bytes (lane 0 lowest): narrowing cannot lose a bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ToBytes(Vector256<int> levels)
    {
        var words = Vector128.Narrow(levels.GetLower(), levels.GetUpper());
        return Vector128.Narrow(words, words).AsUInt64().ToScalar();
    }
}

/// <summary>
/// The position kernels' output (<see cref="AvxVnniConv"/>, <see cref="Avx2Conv"/>): channel-major planes of
/// <c>positions</c> bytes; <see cref="Store"/> requantizes eight positions of one channel with its bias and multiplier and
/// writes only positions &lt; positions.
/// </summary>
internal readonly unsafe struct ChannelPlaneStore(int* bias, float* multipliers, int zeroPoint, int low, int high, byte* output, int positions)
{
    /// <summary>Writes positions <paramref name="p"/> to <paramref name="p"/> + 7 of channel <paramref name="o"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(Vector256<int> acc, int o, int p) =>
        EightLaneStore.Store(acc + Vector256.Create(bias[o]), Vector256.Create(multipliers[o]), zeroPoint, low, high,
            output + (long)o * positions + p, positions - p);
}
