using BenchmarkDotNet.Attributes;
using Qat.MLNet.Quantization.Kernels;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The raw fake-quant loops on 256x4096 floats in preallocated native memory, one thread, per vector path: what the
/// kernels cost without TorchSharp's allocation and autograd bookkeeping.
/// </summary>
public unsafe class FakeQuantKernelBenchmarks
{
    private const int N = 256 * 4096;
    private float* _x, _y, _grad, _dx;
    private byte* _mask;

    /// <summary>The widest vector path allowed (512 = AVX-512, 256, 0 = scalar).</summary>
    [Params(512, 256, 0)]
    public int VectorBits { get; set; }

    /// <summary>Allocates and fills the buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _x = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(N * 4, 64);
        _y = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(N * 4, 64);
        _grad = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(N * 4, 64);
        _dx = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(N * 4, 64);
        _mask = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(N, 64);
        var random = new Random(20261125);
        for (int i = 0; i < N; i++)
        {
            _x[i] = (float)(random.NextDouble() * 12 - 6);
            _grad[i] = (float)random.NextDouble();
        }
    }

    /// <summary>Forward with mask.</summary>
    [Benchmark]
    public void Forward() => FakeQuantKernel.Forward(VectorBits, _x, _y, _mask, N, 0.05f, 0, -128, 127);

    /// <summary>Backward: grad * mask.</summary>
    [Benchmark]
    public void Backward() => FakeQuantKernel.Backward(VectorBits, _grad, _mask, _dx, N);

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_x);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_y);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_grad);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_dx);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_mask);
    }
}
