namespace Qat.MLNet.Quantization.Kernels;

/// <summary>
/// Splits fake-quantization work over raw tensor memory into per-channel segments and, for large tensors, over
/// threads. The memory is native (libtorch's), so it does not move while the loops run.
/// </summary>
/// <remarks>
/// Large tensors are split over as many .NET thread-pool threads as libtorch is set to use. libtorch's own OpenMP workers
/// keep spinning between operators and compete for the same cores, so the split gains less than it would alone
/// (256x4096 forward+backward at 2 threads: ~290 us split against ~450 us on one thread); .NET code cannot join
/// libtorch's pool.
/// </remarks>
internal static unsafe class FakeQuantDriver
{
    /// <summary>Below this many elements a tensor is processed on the calling thread.</summary>
    internal const long MinElementsPerThread = 1 << 16;

    /// <summary>Per-tensor forward over <paramref name="n"/> elements; <paramref name="mask"/> may be null.</summary>
    public static void PerTensor(float* x, float* y, byte* mask, long n, float scale, int zeroPoint, int quantMin, int quantMax, int threads)
    {
        Partition(n, threads, (start, count) =>
            FakeQuantKernel.Forward(FakeQuantKernel.WidestVectorBits, x + start, y + start, mask == null ? null : mask + start, count, scale, zeroPoint, quantMin, quantMax));
    }

    /// <summary>
    /// Per-channel forward over a contiguous tensor seen as [outer, channels, inner], channel c using
    /// <paramref name="scales"/>[c] and <paramref name="zeroPoints"/>[c]; <paramref name="mask"/> may be null.
    /// </summary>
    public static void PerChannel(float* x, float* y, byte* mask, long outer, int channels, long inner,
        float[] scales, int[] zeroPoints, int quantMin, int quantMax, int threads)
    {
        long segments = outer * channels;
        long segmentsPerPart = Math.Max(1, MinElementsPerThread / Math.Max(1, inner));
        int parts = (int)Math.Clamp(segments / segmentsPerPart, 1, Math.Max(1, threads));
        void Run(long first, long last)
        {
            for (long s = first; s < last; s++)
            {
                int c = (int)(s % channels);
                long start = s * inner;
                FakeQuantKernel.Forward(FakeQuantKernel.WidestVectorBits, x + start, y + start, mask == null ? null : mask + start, inner, scales[c], zeroPoints[c], quantMin, quantMax);
            }
        }
        if (parts == 1)
        {
            Run(0, segments);
            return;
        }
        Parallel.For(0, parts, p => Run(segments * p / parts, segments * (p + 1) / parts));
    }

    /// <summary>dx = grad * mask over <paramref name="n"/> elements.</summary>
    public static void Backward(float* grad, byte* mask, float* dx, long n, int threads)
    {
        Partition(n, threads, (start, count) =>
            FakeQuantKernel.Backward(FakeQuantKernel.WidestVectorBits, grad + start, mask + start, dx + start, count));
    }

    /// <summary>
    /// Learnable per-tensor backward (<see cref="LearnableFakeQuantKernel.Backward"/>) over <paramref name="n"/> elements,
    /// split over threads like the forward; returns the summed scale and zero-point gradients.
    /// </summary>
    public static (double DScale, double DZeroPoint) LearnableBackward(float* x, float* dy, float* dx, long n, float scale, float zeroPoint,
        int quantMin, int quantMax, float gradFactor, int threads)
    {
        double dScale = 0, dZeroPoint = 0;
        var gate = new object();
        Partition(n, threads, (start, count) =>
        {
            double partScale = 0, partZeroPoint = 0;
            LearnableFakeQuantKernel.Backward(x + start, dy + start, dx + start, count, scale, zeroPoint, quantMin, quantMax, gradFactor, ref partScale, ref partZeroPoint);
            lock (gate)
            {
                dScale += partScale;
                dZeroPoint += partZeroPoint;
            }
        });
        return (dScale, dZeroPoint);
    }

    private static void Partition(long n, int threads, Action<long, long> body)
    {
        int parts = (int)Math.Clamp(n / MinElementsPerThread, 1, Math.Max(1, threads));
        if (parts == 1)
        {
            body(0, n);
            return;
        }
        // Chunk boundaries on multiples of 32 keep every chunk but the last on the vector path.
        long chunk = ((n + parts - 1) / parts + 31) & ~31L;
        Parallel.For(0, parts, p =>
        {
            long start = p * chunk;
            if (start < n)
                body(start, Math.Min(chunk, n - start));
        });
    }
}
