using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The machine's int8 multiply-accumulate ceiling from C#, register resident, 8 independent chains, 1M vector steps per
/// call: AVX-VNNI <c>vpdpbusd</c> (32 MACs per step; 0 where the CPU lacks it) and the AVX-512BW sequence the engine uses
/// on CPUs without it (<c>vpmaddubsw</c> + <c>vpmaddwd</c> + <c>vpaddd</c>: 64 MACs per step), the same sequence on
/// 256-bit vectors (the AVX2 path: 32 MACs per step), and beside them the fp32 ceiling the float engines have, 256-bit FMA
/// (8 MACs per step). GMAC/s = MACs / mean time.
/// </summary>
public class Int8PeakBenchmark
{
    /// <summary>Vector steps per call.</summary>
    public const int Steps = 1 << 20;

    /// <summary>AVX-VNNI: 32M MACs per call.</summary>
    [Benchmark]
    public int AvxVnniPeak()
    {
        if (!AvxVnni.IsSupported)
            return 0;
        var a = Vector256.Create((byte)3);
        var b = Vector256.Create((sbyte)-2);
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int i = 0; i < Steps / 8; i++)
        {
            s0 = AvxVnni.MultiplyWideningAndAdd(s0, a, b);
            s1 = AvxVnni.MultiplyWideningAndAdd(s1, a, b);
            s2 = AvxVnni.MultiplyWideningAndAdd(s2, a, b);
            s3 = AvxVnni.MultiplyWideningAndAdd(s3, a, b);
            s4 = AvxVnni.MultiplyWideningAndAdd(s4, a, b);
            s5 = AvxVnni.MultiplyWideningAndAdd(s5, a, b);
            s6 = AvxVnni.MultiplyWideningAndAdd(s6, a, b);
            s7 = AvxVnni.MultiplyWideningAndAdd(s7, a, b);
        }
        return Vector256.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
    }

    private readonly byte[] _activations = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 % 128)).ToArray();

    /// <summary>
    /// AVX-512BW maddubs + maddwd with one activation load per step from an L1-resident buffer (so the JIT cannot hoist the
    /// products out of the loop, and as the GEMM does): 64M MACs per call.
    /// </summary>
    [Benchmark]
    public unsafe int Avx512BwPeak()
    {
        if (!Avx512BW.IsSupported)
            return 0;
        var w = Vector512.Create((sbyte)-2);
        var ones = Vector512.Create((short)1);
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default;
        fixed (byte* x = _activations)
        {
            for (int i = 0; i < Steps / 4; i++)
            {
                var a = Vector512.Load(x + ((i & 15) << 6));
                s0 = Avx512F.Add(s0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, w), ones));
                s1 = Avx512F.Add(s1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, w + Vector512<sbyte>.One), ones));
                s2 = Avx512F.Add(s2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, w - Vector512<sbyte>.One), ones));
                s3 = Avx512F.Add(s3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, w + w), ones));
            }
        }
        return Vector512.Sum(s0 + s1 + s2 + s3);
    }

    /// <summary>The AVX2 path's maddubs + maddwd on 256-bit vectors, loads as <see cref="Avx512BwPeak"/>: 32M MACs per call.</summary>
    [Benchmark]
    public unsafe int Avx2Peak()
    {
        if (!Avx2.IsSupported)
            return 0;
        var w = Vector256.Create((sbyte)-2);
        var ones = Vector256.Create((short)1);
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
        fixed (byte* x = _activations)
        {
            for (int i = 0; i < Steps / 4; i++)
            {
                var a = Vector256.Load(x + ((i & 15) << 5));
                s0 = Avx2.Add(s0, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, w), ones));
                s1 = Avx2.Add(s1, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, w + Vector256<sbyte>.One), ones));
                s2 = Avx2.Add(s2, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, w - Vector256<sbyte>.One), ones));
                s3 = Avx2.Add(s3, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, w + w), ones));
            }
        }
        return Vector256.Sum(s0 + s1 + s2 + s3);
    }

    /// <summary>fp32 FMA on 256-bit vectors, 8 independent chains (covers its latency): 8M MACs per call.</summary>
    [Benchmark]
    public float Fma256Peak()
    {
        if (!Fma.IsSupported)
            return 0;
        var a = Vector256.Create(1.0001f);
        var b = Vector256.Create(0.9999f);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int i = 0; i < Steps / 8; i++)
        {
            s0 = Fma.MultiplyAdd(a, b, s0);
            s1 = Fma.MultiplyAdd(a, b, s1);
            s2 = Fma.MultiplyAdd(a, b, s2);
            s3 = Fma.MultiplyAdd(a, b, s3);
            s4 = Fma.MultiplyAdd(a, b, s4);
            s5 = Fma.MultiplyAdd(a, b, s5);
            s6 = Fma.MultiplyAdd(a, b, s6);
            s7 = Fma.MultiplyAdd(a, b, s7);
        }
        return Vector256.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
    }
}
