using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Qat.MLNet.Inference;

/// <summary>Max pooling on uint8 values (exact: the maximum of levels is the level of the maximum).</summary>
public sealed class QuantizedMaxPool2d : QuantizedLayer
{
    internal QuantizedMaxPool2d(string name, ActivationShape input, int kernelH, int kernelW, int strideH, int strideW,
        int padH, int padW, int dilationH, int dilationW, bool ceilMode)
        : base(name, input, new ActivationShape(input.Channels,
            PoolingGeometry.OutputSize(input.Height, kernelH, strideH, padH, dilationH, ceilMode, name),
            PoolingGeometry.OutputSize(input.Width, kernelW, strideW, padW, dilationW, ceilMode, name)))
    {
        (KernelH, KernelW, StrideH, StrideW, PadH, PadW, DilationH, DilationW, CeilMode) = (kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode);
    }

    /// <summary>Window height.</summary>
    public int KernelH { get; }

    /// <summary>Window width.</summary>
    public int KernelW { get; }

    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }

    /// <summary>Vertical padding (ignored positions).</summary>
    public int PadH { get; }

    /// <summary>Horizontal padding.</summary>
    public int PadW { get; }

    /// <summary>Vertical dilation.</summary>
    public int DilationH { get; }

    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc />
    public override long ParameterBytes => 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        // Only where every window lies inside the input: ceil mode on an odd size adds a window that hangs over the edge.
        if (KernelH == 2 && KernelW == 2 && StrideH == 2 && StrideW == 2 && PadH == 0 && PadW == 0 && DilationH == 1 && DilationW == 1
            && OutputShape.Height == InputShape.Height / 2 && OutputShape.Width == InputShape.Width / 2)
        {
            Run2x2(input, output, batch);
            return;
        }
        int h = InputShape.Height, w = InputShape.Width, oh = OutputShape.Height, ow = OutputShape.Width;
        for (int plane = 0; plane < batch * InputShape.Channels; plane++)
        {
            var src = input.Slice(plane * h * w, h * w);
            var dst = output.Slice(plane * oh * ow, oh * ow);
            for (int y = 0; y < oh; y++)
            {
                for (int x = 0; x < ow; x++)
                {
                    int best = -1;
                    for (int ky = 0; ky < KernelH; ky++)
                    {
                        int iy = y * StrideH - PadH + ky * DilationH;
                        if ((uint)iy >= (uint)h)
                            continue;
                        for (int kx = 0; kx < KernelW; kx++)
                        {
                            int ix = x * StrideW - PadW + kx * DilationW;
                            if ((uint)ix < (uint)w && src[iy * w + ix] > best)
                                best = src[iy * w + ix];
                        }
                    }
                    dst[y * ow + x] = (byte)Math.Max(best, 0);
                }
            }
        }
    }

    /// <summary>The common 2x2 stride-2 window, without bounds checks (the output size guarantees every read is inside).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void Run2x2(ReadOnlySpan<byte> input, Span<byte> output, int batch)
    {
        int h = InputShape.Height, w = InputShape.Width, oh = OutputShape.Height, ow = OutputShape.Width;
        fixed (byte* src0 = input)
        fixed (byte* dst0 = output)
        {
            for (int plane = 0; plane < batch * InputShape.Channels; plane++)
            {
                byte* src = src0 + (long)plane * h * w;
                byte* dst = dst0 + (long)plane * oh * ow;
                for (int y = 0; y < oh; y++)
                {
                    byte* r0 = src + (long)(2 * y) * w;
                    byte* r1 = r0 + w;
                    byte* d = dst + y * ow;
                    if (ow >= 8)
                    {
                        // 16 input columns -> 8 outputs; the last block overlaps the one before (same bytes again), so a
                        // row of 14 outputs (28 columns) takes two vector steps and no scalar tail.
                        for (int x = 0; x + 8 <= ow; x += 8)
                            Pool8(r0 + 2 * x, r1 + 2 * x, d + x);
                        if (ow % 8 != 0)
                            Pool8(r0 + 2 * (ow - 8), r1 + 2 * (ow - 8), d + ow - 8);
                    }
                    else if (ow >= 4)
                    {
                        // 8 input columns -> 4 outputs, the same way (7 outputs: two overlapping steps).
                        Pool4(r0, r1, d);
                        if (ow > 4)
                            Pool4(r0 + 2 * (ow - 4), r1 + 2 * (ow - 4), d + ow - 4);
                    }
                    else
                    {
                        for (int x = 0; x < ow; x++)
                            d[x] = Math.Max(Math.Max(r0[2 * x], r0[2 * x + 1]), Math.Max(r1[2 * x], r1[2 * x + 1]));
                    }
                }
            }
        }
    }

    /// <summary>Eight outputs from 16 columns of two rows: the row-wise max, then the max of each byte pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Pool8(byte* r0, byte* r1, byte* d)
    {
        var m = Vector128.Max(Vector128.Load(r0), Vector128.Load(r1)).AsUInt16();
        var pairs = Vector128.Max(m & Vector128.Create((ushort)0xff), m >> 8);
        *(ulong*)d = Vector128.Narrow(pairs, pairs).AsUInt64().ToScalar();
    }

    /// <summary>Four outputs from 8 columns of two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Pool4(byte* r0, byte* r1, byte* d)
    {
        var m = Vector128.Max(Vector128.CreateScalar(*(ulong*)r0).AsByte(), Vector128.CreateScalar(*(ulong*)r1).AsByte()).AsUInt16();
        var pairs = Vector128.Max(m & Vector128.Create((ushort)0xff), m >> 8);
        *(uint*)d = Vector128.Narrow(pairs, pairs).AsUInt32().ToScalar();
    }
}
