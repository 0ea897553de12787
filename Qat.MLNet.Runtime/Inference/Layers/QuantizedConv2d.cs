using System.Runtime.CompilerServices;
using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// An int8 2-D convolution (PyTorch: <c>torch.ao.nn.quantized.Conv2d</c>, or <c>ConvReLU2d</c> when
/// <see cref="QuantizedWeightedLayer.FusedReLU"/>; BatchNorm already folded in by Convert), with stride, zero padding, dilation and groups
/// (depthwise included). Per sample and group it lays the receptive fields out as rows (im2col, padding with the input
/// zero point, which stands for 0.0) and multiplies them with the weight rows.
/// </summary>
public sealed class QuantizedConv2d : QuantizedWeightedLayer
{
    private readonly int _kp;

    internal QuantizedConv2d(string name, ActivationShape inputShape, int outChannels, int kernelHeight, int kernelWidth,
        int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups,
        sbyte[] weights, float[] weightScales, int[] bias, QuantizationParameters input, QuantizationParameters output, bool fusedReLU,
        Int8Kernels? kernels = null)
        : base(name, inputShape, new ActivationShape(outChannels,
            ConvolutionGeometry.OutputSize(inputShape.Height, kernelHeight, strideH, padH, dilationH, name),
            ConvolutionGeometry.OutputSize(inputShape.Width, kernelWidth, strideW, padW, dilationW, name)),
            outChannels, ConvolutionGeometry.Reduction(inputShape, groups, outChannels, kernelHeight, kernelWidth, name),
            weights, weightScales, bias, input, output, fusedReLU, kernels, linear: false)
    {
        (KernelHeight, KernelWidth, StrideH, StrideW, PadH, PadW, DilationH, DilationW, Groups) =
            (kernelHeight, kernelWidth, strideH, strideW, padH, padW, dilationH, dilationW, groups);
        _kp = Int8Gemm.PaddedLength(Reduction);
    }


    private int KPairs => (Reduction + 1) / 2;

    private int KQuads => (Reduction + 3) / 4;

    private int PaddedPositions => (OutputShape.Height * OutputShape.Width + Avx512Conv.Lanes - 1) / Avx512Conv.Lanes * Avx512Conv.Lanes;

    /// <summary>Kernel height.</summary>
    public int KernelHeight { get; }

    /// <summary>Kernel width.</summary>
    public int KernelWidth { get; }

    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }

    /// <summary>Vertical zero padding.</summary>
    public int PadH { get; }

    /// <summary>Horizontal zero padding.</summary>
    public int PadW { get; }

    /// <summary>Vertical dilation.</summary>
    public int DilationH { get; }

    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; }

    /// <summary>Groups (input channels for depthwise).</summary>
    public int Groups { get; }

    // In long: a hostile file's dimensions can each pass their bounds and still multiply past int.
    internal override long ScratchBytesPerSample => (Kernels.VectorizesOverPositions
        ? (long)KPairs * PaddedPositions * 4 + (long)KQuads * 4 * PaddedPositions
        : (long)OutputShape.Height * OutputShape.Width * _kp) + Int8Gemm.Slack;

    internal override QuantizedLayer WithKernels(Int8Kernels kernels) => kernels == Kernels ? this
        : new QuantizedConv2d(Name, InputShape, OutputShape.Channels, KernelHeight, KernelWidth, StrideH, StrideW, PadH, PadW,
            DilationH, DilationW, Groups, Weights, WeightScales, Bias, Input, Output, FusedReLU, kernels);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override unsafe void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        if (Kernels.VectorizesOverPositions)
        {
            RunOverPositions(input, output, batch, scratch);
            return;
        }
        int positions = OutputShape.Height * OutputShape.Width;
        int outPerGroup = OutputShape.Channels / Groups;
        int[] acc = ArrayPool<int>.Shared.Rent(positions * outPerGroup);
        try
        {
            for (int n = 0; n < batch; n++)
            {
                var sample = input.Slice(n * InputShape.Size, InputShape.Size);
                var result = output.Slice(n * OutputShape.Size, OutputShape.Size);
                for (int g = 0; g < Groups; g++)
                {
                    Im2Col(sample, g, scratch);
                    fixed (byte* cols = scratch)
                    fixed (sbyte* w = PaddedWeights)
                    fixed (int* a = acc)
                        Kernels.Multiply(cols, _kp, positions, w + (long)g * outPerGroup * _kp, outPerGroup, Reduction, a, outPerGroup, SevenBitInput);
                    for (int oc = 0; oc < outPerGroup; oc++)
                    {
                        int o = g * outPerGroup + oc;
                        int bias = CorrectedBias[o];
                        var plane = result.Slice(o * positions, positions);
                        for (int p = 0; p < positions; p++)
                            plane[p] = Requantizer.Apply(acc[p * outPerGroup + oc] + bias, o);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(acc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void RunOverPositions(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        int positions = OutputShape.Height * OutputShape.Width;
        int outPerGroup = OutputShape.Channels / Groups;
        bool quads = Kernels.PositionQuads(SevenBitInput);
        fixed (byte* cols = scratch)
        fixed (byte* rows = scratch.Slice(KPairs * 4 * PaddedPositions))
        fixed (int* weightPairs = WeightPairs)
        fixed (sbyte* paddedRows = PaddedWeights)
        fixed (int* bias = CorrectedBias)
        fixed (float* multipliers = Requantizer.Multipliers)
        fixed (byte* output0 = output)
        {
            for (int n = 0; n < batch; n++)
            {
                var sample = input.Slice(n * InputShape.Size, InputShape.Size);
                byte* result = output0 + (long)n * OutputShape.Size;
                for (int g = 0; g < Groups; g++)
                {
                    int first = g * outPerGroup;
                    if (quads)
                    {
                        Im2ColRows(sample, g, rows, KQuads * 4);
                        InterleaveQuads(rows, cols);
                        Kernels.RunPositionQuads((int*)cols, KQuads, PaddedPositions, (int*)paddedRows + (long)first * QuadStride, QuadStride, outPerGroup, bias + first,
                            multipliers + first, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, result + (long)first * positions, positions, SevenBitInput);
                    }
                    else
                    {
                        Im2ColRows(sample, g, rows, KPairs * 2);
                        InterleavePairs(rows, cols);
                        Kernels.RunPositionPairs((int*)cols, KPairs, PaddedPositions, weightPairs + (long)first * KPairs, outPerGroup, bias + first,
                            multipliers + first, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, result + (long)first * positions, positions);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Receptive fields of group <paramref name="g"/> for the position kernels, first step: reduction step k's value at every
    /// position as row k of <paramref name="rows"/> (<c>PaddedPositions</c> bytes; runs of input bytes copied whole), rows
    /// from K up to <paramref name="rowCount"/> zero (they meet zero weights).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void Im2ColRows(ReadOnlySpan<byte> sample, int g, byte* rows, int rowCount)
    {
        int channels = InputShape.Channels / Groups, height = InputShape.Height, width = InputShape.Width;
        int outH = OutputShape.Height, outW = OutputShape.Width, pp = PaddedPositions;
        byte zero = (byte)Input.ZeroPoint;
        fixed (byte* src = sample)
        {
            byte* planes = src + (long)g * channels * height * width;
            int k = 0;
            for (int c = 0; c < channels; c++)
            {
                byte* plane = planes + (long)c * height * width;
                for (int y = 0; y < KernelHeight; y++)
                {
                    for (int x = 0; x < KernelWidth; x++, k++)
                    {
                        byte* row = rows + (long)k * pp;
                        int iw = -PadW + x * DilationW;
                        // With stride 1, output columns [first, last) read input columns iw + ow inside the image.
                        int first = Math.Min(outW, Math.Max(0, -iw)), last = Math.Max(first, Math.Min(outW, width - iw));
                        for (int oh = 0; oh < outH; oh++)
                        {
                            int ih = oh * StrideH - PadH + y * DilationH;
                            byte* dst = row + oh * outW;
                            if ((uint)ih >= (uint)height)
                            {
                                new Span<byte>(dst, outW).Fill(zero);
                                continue;
                            }
                            byte* line = plane + (long)ih * width;
                            if (StrideW == 1)
                            {
                                for (int ow = 0; ow < first; ow++)
                                    dst[ow] = zero;
                                CopyRun(line + iw + first, dst + first, last - first);
                                for (int ow = last; ow < outW; ow++)
                                    dst[ow] = zero;
                            }
                            else
                            {
                                int column = iw;
                                for (int ow = 0; ow < outW; ow++, column += StrideW)
                                    dst[ow] = (uint)column < (uint)width ? line[column] : zero;
                            }
                        }
                        new Span<byte>(row + outH * outW, pp - outH * outW).Clear();
                    }
                }
            }
            for (; k < rowCount; k++)
                new Span<byte>(rows + (long)k * pp, pp).Clear();
        }
    }

    /// <summary>Second step, quad kernels (AVX-VNNI; AVX-512BW and AVX2 with seven-bit activations): every four rows interleaved into byte quads per position (byte and word unpacks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void InterleaveQuads(byte* rows, byte* cols)
    {
        int pp = PaddedPositions;
        for (int q = 0; q < KQuads; q++)
        {
            byte* a = rows + (long)(4 * q) * pp, b = a + pp, c = b + pp, d = c + pp;
            byte* dst = cols + (long)q * pp * 4;
            for (int p = 0; p < pp; p += 16)
            {
                var va = Vector128.Load(a + p);
                var vb = Vector128.Load(b + p);
                var vc = Vector128.Load(c + p);
                var vd = Vector128.Load(d + p);
                var ab0 = Sse2.UnpackLow(va, vb).AsUInt16();
                var ab1 = Sse2.UnpackHigh(va, vb).AsUInt16();
                var cd0 = Sse2.UnpackLow(vc, vd).AsUInt16();
                var cd1 = Sse2.UnpackHigh(vc, vd).AsUInt16();
                Sse2.UnpackLow(ab0, cd0).AsByte().Store(dst + p * 4);
                Sse2.UnpackHigh(ab0, cd0).AsByte().Store(dst + p * 4 + 16);
                Sse2.UnpackLow(ab1, cd1).AsByte().Store(dst + p * 4 + 32);
                Sse2.UnpackHigh(ab1, cd1).AsByte().Store(dst + p * 4 + 48);
            }
        }
    }

    /// <summary>Second step, AVX-512BW and AVX2 with 8-bit activations: every two rows widened to int16 and interleaved into pairs per position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void InterleavePairs(byte* rows, byte* cols)
    {
        int pp = PaddedPositions;
        var zero = Vector128<byte>.Zero;
        for (int q = 0; q < KPairs; q++)
        {
            byte* a = rows + (long)(2 * q) * pp, b = a + pp;
            byte* dst = cols + (long)q * pp * 4;
            for (int p = 0; p < pp; p += 16)
            {
                var va = Vector128.Load(a + p);
                var vb = Vector128.Load(b + p);
                var a0 = Sse2.UnpackLow(va, zero).AsUInt16();
                var a1 = Sse2.UnpackHigh(va, zero).AsUInt16();
                var b0 = Sse2.UnpackLow(vb, zero).AsUInt16();
                var b1 = Sse2.UnpackHigh(vb, zero).AsUInt16();
                Sse2.UnpackLow(a0, b0).AsByte().Store(dst + p * 4);
                Sse2.UnpackHigh(a0, b0).AsByte().Store(dst + p * 4 + 16);
                Sse2.UnpackLow(a1, b1).AsByte().Store(dst + p * 4 + 32);
                Sse2.UnpackHigh(a1, b1).AsByte().Store(dst + p * 4 + 48);
            }
        }
    }

    /// <summary>Copies a short run of bytes with overlapping vector moves (runs are image rows: a call to memmove costs more).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private static unsafe void CopyRun(byte* src, byte* dst, int n)
    {
        if (n >= 16)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16)
                Vector128.Load(src + i).Store(dst + i);
            if (i < n)
                Vector128.Load(src + n - 16).Store(dst + n - 16);
        }
        else if (n >= 8)
        {
            *(ulong*)dst = *(ulong*)src;
            *(ulong*)(dst + n - 8) = *(ulong*)(src + n - 8);
        }
        else
        {
            for (int i = 0; i < n; i++)
                dst[i] = src[i];
        }
    }

    /// <summary>Rows of receptive fields of group <paramref name="g"/>, each <c>_kp</c> bytes; outside the input, the zero point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void Im2Col(ReadOnlySpan<byte> sample, int g, Span<byte> cols)
    {
        int channels = InputShape.Channels / Groups, height = InputShape.Height, width = InputShape.Width;
        int outH = OutputShape.Height, outW = OutputShape.Width, kh = KernelHeight, kw = KernelWidth;
        byte zero = (byte)Input.ZeroPoint;
        fixed (byte* src = sample)
        fixed (byte* dst0 = cols)
        {
            byte* planes = src + (long)g * channels * height * width;
            byte* dst = dst0;
            for (int oh = 0; oh < outH; oh++)
            {
                int ih0 = oh * StrideH - PadH;
                for (int ow = 0; ow < outW; ow++, dst += _kp)
                {
                    int iw0 = ow * StrideW - PadW;
                    bool inside = ih0 >= 0 && iw0 >= 0 && ih0 + (kh - 1) * DilationH < height && iw0 + (kw - 1) * DilationW < width;
                    byte* d = dst;
                    for (int c = 0; c < channels; c++)
                    {
                        byte* plane = planes + (long)c * height * width;
                        for (int y = 0; y < kh; y++)
                        {
                            int ih = ih0 + y * DilationH;
                            byte* line = plane + (long)ih * width;
                            if (inside)
                            {
                                // Interior windows: no bounds checks; a contiguous run when dilation is 1.
                                if (DilationW == 1)
                                    Buffer.MemoryCopy(line + iw0, d, kw, kw);
                                else
                                    for (int x = 0; x < kw; x++)
                                        d[x] = line[iw0 + x * DilationW];
                            }
                            else
                            {
                                bool rowInside = (uint)ih < (uint)height;
                                for (int x = 0; x < kw; x++)
                                {
                                    int iw = iw0 + x * DilationW;
                                    d[x] = rowInside && (uint)iw < (uint)width ? line[iw] : zero;
                                }
                            }
                            d += kw;
                        }
                    }
                }
            }
        }
    }

}
