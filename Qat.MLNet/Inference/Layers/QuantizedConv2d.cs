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
        sbyte[] weights, float[] weightScales, int[] bias, QuantizationParameters input, QuantizationParameters output, bool fusedReLU)
        : base(name, inputShape, new ActivationShape(outChannels,
            OutputSize(inputShape.Height, kernelHeight, strideH, padH, dilationH, name),
            OutputSize(inputShape.Width, kernelWidth, strideW, padW, dilationW, name)),
            outChannels, CheckedReduction(inputShape, groups, outChannels, kernelHeight, kernelWidth, name),
            weights, weightScales, bias, input, output, fusedReLU)
    {
        (KernelHeight, KernelWidth, StrideH, StrideW, PadH, PadW, DilationH, DilationW, Groups) =
            (kernelHeight, kernelWidth, strideH, strideW, padH, padW, dilationH, dilationW, groups);
        _kp = Int8Gemm.PaddedLength(Reduction);
    }

    private static int CheckedReduction(ActivationShape input, int groups, int outChannels, int kernelHeight, int kernelWidth, string name)
    {
        if (groups <= 0 || input.Channels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: {groups} groups must divide the {input.Channels} input and {outChannels} output channels.");
        return input.Channels / groups * kernelHeight * kernelWidth;
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

    internal override int ScratchBytesPerSample
        => Math.Max(OutputShape.Height * OutputShape.Width * _kp, KPairs * PaddedPositions * 4 + KQuads * 4 * PaddedPositions) + Int8Gemm.Slack;

    internal override unsafe void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        if (Int8Gemm.Path == Int8KernelPath.Avx512)
        {
            RunAvx512(input, output, batch, scratch);
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
                        Int8Gemm.Multiply(cols, _kp, positions, w + (long)g * outPerGroup * _kp, outPerGroup, Reduction, a, outPerGroup, SevenBitInput);
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

    private unsafe void RunAvx512(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        int positions = OutputShape.Height * OutputShape.Width;
        int outPerGroup = OutputShape.Channels / Groups;
        bool sevenBit = SevenBitInput;
        fixed (byte* cols = scratch)
        fixed (int* weightPairs = WeightPairs)
        fixed (int* weightQuads = WeightQuads)
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
                    if (sevenBit)
                    {
                        Im2ColQuads(sample, g, cols, cols + (long)KQuads * 4 * PaddedPositions);
                        Avx512Conv.RunSevenBit((int*)cols, KQuads, PaddedPositions, weightQuads + (long)first * KQuads, outPerGroup, bias + first,
                            multipliers + first, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, result + (long)first * positions, positions);
                    }
                    else
                    {
                        Im2ColInterleaved(sample, g, cols, lanes: 2, elementBytes: 2);
                        Avx512Conv.Run((int*)cols, KPairs, PaddedPositions, weightPairs + (long)first * KPairs, outPerGroup, bias + first,
                            multipliers + first, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, result + (long)first * positions, positions);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The seven-bit layout of <see cref="Im2ColInterleaved"/> (lanes 4, bytes), built faster: each reduction step's
    /// positions first as a contiguous row in <paramref name="rows"/> (runs of input bytes copied whole), then every four
    /// rows interleaved into quads 16 positions at a time with byte and word unpacks.
    /// </summary>
    private unsafe void Im2ColQuads(ReadOnlySpan<byte> sample, int g, byte* cols, byte* rows)
    {
        int channels = InputShape.Channels / Groups, height = InputShape.Height, width = InputShape.Width;
        int outH = OutputShape.Height, outW = OutputShape.Width, pp = PaddedPositions, kq = KQuads;
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
            for (; k < kq * 4; k++)
                new Span<byte>(rows + (long)k * pp, pp).Clear(); // steps past K meet zero weights
        }

        for (int q = 0; q < kq; q++)
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

    /// <summary>Copies a short run of bytes with overlapping vector moves (runs are image rows: a call to memmove costs more).</summary>
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

    /// <summary>
    /// Receptive fields of group <paramref name="g"/> with <paramref name="lanes"/> consecutive reduction steps interleaved
    /// per position: element (k, p) at <c>((k / lanes) * paddedPositions + p) * lanes + k % lanes</c>, as int16
    /// (<paramref name="elementBytes"/> 2) or bytes (1). Steps past K in the last group are zeroed.
    /// </summary>
    private unsafe void Im2ColInterleaved(ReadOnlySpan<byte> sample, int g, byte* cols, int lanes, int elementBytes)
    {
        int channels = InputShape.Channels / Groups, height = InputShape.Height, width = InputShape.Width;
        int outH = OutputShape.Height, outW = OutputShape.Width, pp = PaddedPositions;
        byte zero = (byte)Input.ZeroPoint;
        long step = (long)lanes * elementBytes;
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
                        byte* dst = cols + ((long)(k / lanes) * pp * lanes + k % lanes) * elementBytes;
                        for (int oh = 0; oh < outH; oh++)
                        {
                            int ih = oh * StrideH - PadH + y * DilationH;
                            bool rowInside = (uint)ih < (uint)height;
                            byte* line = plane + (long)ih * width;
                            int iw = -PadW + x * DilationW;
                            for (int ow = 0; ow < outW; ow++, iw += StrideW, dst += step)
                            {
                                byte v = rowInside && (uint)iw < (uint)width ? line[iw] : zero;
                                if (elementBytes == 2)
                                    *(short*)dst = v;
                                else
                                    *dst = v;
                            }
                        }
                    }
                }
            }
            for (; k % lanes != 0; k++)
            {
                // Steps past K pair with zero weights; give them a defined value anyway.
                byte* dst = cols + ((long)(k / lanes) * pp * lanes + k % lanes) * elementBytes;
                for (int p = 0; p < pp; p++, dst += step)
                {
                    if (elementBytes == 2)
                        *(short*)dst = 0;
                    else
                        *dst = 0;
                }
            }
        }
    }

    /// <summary>Rows of receptive fields of group <paramref name="g"/>, each <c>_kp</c> bytes; outside the input, the zero point.</summary>
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

    private static int OutputSize(int input, int kernel, int stride, int pad, int dilation, string name)
    {
        if (kernel <= 0 || stride <= 0 || pad < 0 || dilation <= 0)
            throw new ArgumentException($"{name}: kernel {kernel}, stride {stride}, padding {pad} and dilation {dilation} must be positive (padding >= 0).");
        int size = (input + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
        if (size <= 0)
            throw new ArgumentException($"{name}: an input of size {input} is too small for kernel {kernel} with padding {pad} and dilation {dilation}.");
        return size;
    }
}
