using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The AVX-VNNI Linear kernel, vectorized over output channels (the layout of fbgemm's and MLAS's packed B): weights
/// as sbyte quads, <c>w[kQuad][o] = w[o][4k..4k+3]</c> (<see cref="WeightPacking.OutputQuads"/>), eight channels per
/// vector; each sample's four inputs <c>x[n][4k..4k+3]</c> are read where they are and broadcast, and one
/// <c>vpdpbusd</c> adds their four products into each of eight channels. Nothing is transposed, there are no horizontal
/// sums, the results come out in the engine's [sample][channel] order, and the same form serves batch 1 and batch 256.
/// Exact for full eight-bit activations.
/// </summary>
internal static unsafe class AvxVnniLinear
{
    /// <summary>Channels per vector.</summary>
    public const int Lanes = 8;

    /// <summary>Output channels rounded up to whole vectors: the width of a row of <see cref="WeightPacking.OutputQuads"/>.</summary>
    public static int PaddedOutputs(int outputs) => (outputs + Lanes - 1) / Lanes * Lanes;

    /// <summary>
    /// <c>out[n][o] = requantize(sum_k x[n][k] * w[o][k] + bias[o])</c> for <paramref name="rows"/> samples of
    /// <paramref name="k"/> bytes (read in quads: up to 3 bytes past a row's end meet zero weights, so the caller keeps
    /// <see cref="Int8Gemm.Slack"/> bytes after the last row). <paramref name="bias"/> and <paramref name="multipliers"/>
    /// hold <see cref="PaddedOutputs"/> values; only the first <paramref name="outputs"/> channels are written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public static void Run(byte* x, int k, int rows, int* weightQuads, int outputs, int* bias, float* multipliers,
        int zeroPoint, int low, int high, byte* output)
    {
        int kQuads = (k + 3) / 4;
        int width = PaddedOutputs(outputs);
        var store = new Requantize(bias, multipliers, zeroPoint, low, high, output, outputs);
        int n = 0;
        if (width < 3 * Lanes)
        {
            // Narrow layers (8 or 16 channels, a classifier's last): blocks over samples give the independent chains.
            for (; n + 4 <= rows; n += 4)
            {
                bool two = width >= 2 * Lanes;
                for (int o = 0; o < width; o += 2 * Lanes)
                {
                    int first = two ? Math.Min(o, width - 2 * Lanes) : 0;
                    Block4x2(x + (long)n * k, k, kQuads, weightQuads + first, width, store, n, first, two);
                }
            }
        }
        else
        {
            // Four samples x 24 channels: a 24-channel weight panel (kQuads x 96 bytes) stays in L1 while the samples pass.
            for (int o = 0; o < width; o += 3 * Lanes)
            {
                int first = Math.Min(o, width - 3 * Lanes); // the last block may overlap the one before: same bytes again
                int* panel = weightQuads + first;
                for (n = 0; n + 4 <= rows; n += 4)
                    Block4x3(x + (long)n * k, k, kQuads, panel, width, store, n, first);
            }
        }
        // Samples left over (and every sample of a small batch): one at a time, 96, 24 or 8 channels per block.
        for (; n < rows; n++)
        {
            byte* row = x + (long)n * k;
            if (width >= 12 * Lanes)
            {
                for (int o = 0; o < width; o += 12 * Lanes)
                {
                    int first = Math.Min(o, width - 12 * Lanes);
                    Block1x12(row, kQuads, weightQuads + first, width, store, n, first);
                }
            }
            else if (width >= 3 * Lanes)
            {
                for (int o = 0; o < width; o += 3 * Lanes)
                {
                    int first = Math.Min(o, width - 3 * Lanes);
                    Block1x3(row, kQuads, weightQuads + first, width, store, n, first);
                }
            }
            else
            {
                for (int o = 0; o < width; o += Lanes)
                    store.Store(Dot(row, kQuads, weightQuads + o, width), n, o);
            }
        }
    }

    /// <summary>
    /// Four samples x three channel vectors: 12 accumulators (the JIT keeps at most about that many in the registers a
    /// VEX-encoded vpdpbusd can write, and they cover its latency at two per cycle); 12 vpdpbusd per 4 broadcasts and 3
    /// loads.
    /// </summary>
    // A method of its own: inlined into Run, the JIT's register allocation spilled two accumulators every step.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block4x3(byte* x, int k, int kQuads, int* w, int width, in Requantize store, int n, int o)
    {
        byte* x0 = x, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        Vector256<int> a0 = default, a1 = default, a2 = default;
        Vector256<int> b0 = default, b1 = default, b2 = default;
        Vector256<int> c0 = default, c1 = default, c2 = default;
        Vector256<int> d0 = default, d1 = default, d2 = default;
        for (int q = 0; q < kQuads; q++, w += width)
        {
            var w0 = Vector256.Load(w).AsSByte();
            var w1 = Vector256.Load(w + Lanes).AsSByte();
            var w2 = Vector256.Load(w + 2 * Lanes).AsSByte();
            var v = Vector256.Create(*(int*)(x0 + 4 * q)).AsByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, w0);
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, w1);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, v, w2);
            v = Vector256.Create(*(int*)(x1 + 4 * q)).AsByte();
            b0 = AvxVnni.MultiplyWideningAndAdd(b0, v, w0);
            b1 = AvxVnni.MultiplyWideningAndAdd(b1, v, w1);
            b2 = AvxVnni.MultiplyWideningAndAdd(b2, v, w2);
            v = Vector256.Create(*(int*)(x2 + 4 * q)).AsByte();
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, v, w0);
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, v, w1);
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, v, w2);
            v = Vector256.Create(*(int*)(x3 + 4 * q)).AsByte();
            d0 = AvxVnni.MultiplyWideningAndAdd(d0, v, w0);
            d1 = AvxVnni.MultiplyWideningAndAdd(d1, v, w1);
            d2 = AvxVnni.MultiplyWideningAndAdd(d2, v, w2);
        }
        store.Store(a0, n, o);
        store.Store(a1, n, o + Lanes);
        store.Store(a2, n, o + 2 * Lanes);
        store.Store(b0, n + 1, o);
        store.Store(b1, n + 1, o + Lanes);
        store.Store(b2, n + 1, o + 2 * Lanes);
        store.Store(c0, n + 2, o);
        store.Store(c1, n + 2, o + Lanes);
        store.Store(c2, n + 2, o + 2 * Lanes);
        store.Store(d0, n + 3, o);
        store.Store(d1, n + 3, o + Lanes);
        store.Store(d2, n + 3, o + 2 * Lanes);
    }

    /// <summary>
    /// Four samples x two channel vectors (or one, when <paramref name="two"/> is false: a layer of at most 8 channels):
    /// 8 or 4 independent chains for the layers too narrow for <see cref="Block4x3"/>.
    /// </summary>
    // A method of its own: inlined into Run, the JIT's register allocation spilled accumulators every step.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block4x2(byte* x, int k, int kQuads, int* w, int width, in Requantize store, int n, int o, bool two)
    {
        byte* x0 = x, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        Vector256<int> a0 = default, a1 = default, b0 = default, b1 = default;
        Vector256<int> c0 = default, c1 = default, d0 = default, d1 = default;
        int second = two ? Lanes : 0; // one vector: the second chain of each sample repeats the first, and is not stored
        for (int q = 0; q < kQuads; q++, w += width)
        {
            var w0 = Vector256.Load(w).AsSByte();
            var w1 = Vector256.Load(w + second).AsSByte();
            var v = Vector256.Create(*(int*)(x0 + 4 * q)).AsByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, w0);
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, w1);
            v = Vector256.Create(*(int*)(x1 + 4 * q)).AsByte();
            b0 = AvxVnni.MultiplyWideningAndAdd(b0, v, w0);
            b1 = AvxVnni.MultiplyWideningAndAdd(b1, v, w1);
            v = Vector256.Create(*(int*)(x2 + 4 * q)).AsByte();
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, v, w0);
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, v, w1);
            v = Vector256.Create(*(int*)(x3 + 4 * q)).AsByte();
            d0 = AvxVnni.MultiplyWideningAndAdd(d0, v, w0);
            d1 = AvxVnni.MultiplyWideningAndAdd(d1, v, w1);
        }
        store.Store(a0, n, o);
        store.Store(b0, n + 1, o);
        store.Store(c0, n + 2, o);
        store.Store(d0, n + 3, o);
        if (!two)
            return;
        store.Store(a1, n, o + Lanes);
        store.Store(b1, n + 1, o + Lanes);
        store.Store(c1, n + 2, o + Lanes);
        store.Store(d1, n + 3, o + Lanes);
    }

    /// <summary>One sample x twelve channel vectors (96 channels): 12 independent chains for batch 1; 12 vpdpbusd per broadcast.</summary>
    // A method of its own: inlined into Run, the JIT's register allocation spilled two accumulators every step.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x12(byte* x, int kQuads, int* w, int width, in Requantize store, int n, int o)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (int q = 0; q < kQuads; q++, w += width)
        {
            var v = Vector256.Create(*(int*)(x + 4 * q)).AsByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, Vector256.Load(w).AsSByte());
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, Vector256.Load(w + Lanes).AsSByte());
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, v, Vector256.Load(w + 2 * Lanes).AsSByte());
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, v, Vector256.Load(w + 3 * Lanes).AsSByte());
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, v, Vector256.Load(w + 4 * Lanes).AsSByte());
            a5 = AvxVnni.MultiplyWideningAndAdd(a5, v, Vector256.Load(w + 5 * Lanes).AsSByte());
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, v, Vector256.Load(w + 6 * Lanes).AsSByte());
            a7 = AvxVnni.MultiplyWideningAndAdd(a7, v, Vector256.Load(w + 7 * Lanes).AsSByte());
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, v, Vector256.Load(w + 8 * Lanes).AsSByte());
            a9 = AvxVnni.MultiplyWideningAndAdd(a9, v, Vector256.Load(w + 9 * Lanes).AsSByte());
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, v, Vector256.Load(w + 10 * Lanes).AsSByte());
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, v, Vector256.Load(w + 11 * Lanes).AsSByte());
        }
        store.Store(a0, n, o);
        store.Store(a1, n, o + Lanes);
        store.Store(a2, n, o + 2 * Lanes);
        store.Store(a3, n, o + 3 * Lanes);
        store.Store(a4, n, o + 4 * Lanes);
        store.Store(a5, n, o + 5 * Lanes);
        store.Store(a6, n, o + 6 * Lanes);
        store.Store(a7, n, o + 7 * Lanes);
        store.Store(a8, n, o + 8 * Lanes);
        store.Store(a9, n, o + 9 * Lanes);
        store.Store(a10, n, o + 10 * Lanes);
        store.Store(a11, n, o + 11 * Lanes);
    }

    /// <summary>One sample x three channel vectors (layers of 24 to 95 channels).</summary>
    // A method of its own: inlined into Run, the JIT's register allocation spilled two accumulators every step.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x3(byte* x, int kQuads, int* w, int width, in Requantize store, int n, int o)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default;
        for (int q = 0; q < kQuads; q++, w += width)
        {
            var v = Vector256.Create(*(int*)(x + 4 * q)).AsByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, Vector256.Load(w).AsSByte());
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, Vector256.Load(w + Lanes).AsSByte());
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, v, Vector256.Load(w + 2 * Lanes).AsSByte());
        }
        store.Store(a0, n, o);
        store.Store(a1, n, o + Lanes);
        store.Store(a2, n, o + 2 * Lanes);
    }

    /// <summary>One sample x one channel vector (layers narrower than 24 channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot(byte* x, int kQuads, int* w, int width)
    {
        var a = Vector256<int>.Zero;
        for (int q = 0; q < kQuads; q++, w += width)
            a = AvxVnni.MultiplyWideningAndAdd(a, Vector256.Create(*(int*)(x + 4 * q)).AsByte(), Vector256.Load(w).AsSByte());
        return a;
    }

    /// <summary>Requantizes eight channels of one sample (<see cref="EightLaneStore"/>); writes only channels &lt; outputs.</summary>
    private readonly struct Requantize(int* bias, float* multipliers, int zeroPoint, int low, int high, byte* output, int outputs)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector256<int> acc, int n, int o) =>
            EightLaneStore.Store(acc + Vector256.Load(bias + o), Vector256.Load(multipliers + o), zeroPoint, low, high,
                output + (long)n * outputs + o, outputs - o);
    }
}
