using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The machine's AVX-VNNI ceiling from C#: 8 independent register-resident <c>vpdpbusd</c> chains, 1M instructions
/// = 32M multiply-accumulates per call; GMAC/s = 32e6 / mean time. The int8 engine's GEMM throughput is read against it.
/// </summary>
public class VnniPeakBenchmark
{
    /// <summary>vpdpbusd instructions per call.</summary>
    public const int Instructions = 1 << 20;

    /// <summary>Runs the chains (returns a value so the JIT keeps them).</summary>
    [Benchmark]
    public int VnniRegisterResident()
    {
        if (!AvxVnni.IsSupported)
            return 0;
        var a = Vector256.Create((byte)3);
        var b = Vector256.Create((sbyte)-2);
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int i = 0; i < Instructions / 8; i++)
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
}
