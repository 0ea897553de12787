using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Qat.MLNet.Inference;

/// <summary>
/// A 2-D convolution kept in float inside an int8 model (mixed precision; BatchNorm folded in by Convert): dequantize the
/// input, convolve in float with zero padding, stride, dilation and groups (then ReLU when
/// <see cref="FloatWeightedLayer.FusedReLU"/>), quantize the output.
/// </summary>
public sealed class FloatConv2d : FloatWeightedLayer
{
    internal FloatConv2d(string name, ActivationShape inputShape, int outChannels, int kernelHeight, int kernelWidth,
        int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups,
        float[] weights, float[] bias, QuantizationParameters input, QuantizationParameters output, bool fusedReLU)
        : base(name, inputShape, new ActivationShape(outChannels,
            ConvolutionGeometry.OutputSize(inputShape.Height, kernelHeight, strideH, padH, dilationH, name),
            ConvolutionGeometry.OutputSize(inputShape.Width, kernelWidth, strideW, padW, dilationW, name)),
            outChannels, ConvolutionGeometry.Reduction(inputShape, groups, outChannels, kernelHeight, kernelWidth, name),
            weights, bias, input, output, fusedReLU)
    {
        (KernelHeight, KernelWidth, StrideH, StrideW, PadH, PadW, DilationH, DilationW, Groups) =
            (kernelHeight, kernelWidth, strideH, strideW, padH, padW, dilationH, dilationW, groups);
    }

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

    private int Positions => OutputShape.Height * OutputShape.Width;

    // The dequantized sample, then one receptive field per output position: in long, as a hostile file's dimensions can multiply past int.
    internal override long ScratchBytesPerSample => 4L * InputShape.Size + 4L * Positions * Reduction;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        var floats = MemoryMarshal.Cast<byte, float>(scratch);
        var sample = floats[..InputShape.Size];
        var cols = floats.Slice(InputShape.Size, Positions * Reduction);
        int outPerGroup = OutputShape.Channels / Groups, positions = Positions, k = Reduction;
        for (int n = 0; n < batch; n++)
        {
            DequantizeInput(input.Slice(n * InputShape.Size, InputShape.Size), sample);
            var result = output.Slice(n * OutputShape.Size, OutputShape.Size);
            for (int g = 0; g < Groups; g++)
            {
                Im2Col(sample, g, cols);
                for (int oc = 0; oc < outPerGroup; oc++)
                {
                    int o = g * outPerGroup + oc;
                    var plane = result.Slice(o * positions, positions);
                    for (int p = 0; p < positions; p++)
                        plane[p] = OutputLevel(o, cols.Slice(p * k, k));
                }
            }
        }
    }

    /// <summary>The receptive field of every output position of group <paramref name="g"/> as a row of <c>reduction</c> floats (0 outside the input).</summary>
    private void Im2Col(ReadOnlySpan<float> sample, int g, Span<float> cols)
    {
        int channels = InputShape.Channels / Groups, height = InputShape.Height, width = InputShape.Width;
        int i = 0;
        for (int oh = 0; oh < OutputShape.Height; oh++)
        {
            for (int ow = 0; ow < OutputShape.Width; ow++)
            {
                for (int c = 0; c < channels; c++)
                {
                    var plane = sample.Slice((g * channels + c) * height * width, height * width);
                    for (int y = 0; y < KernelHeight; y++)
                    {
                        int ih = oh * StrideH - PadH + y * DilationH;
                        for (int x = 0; x < KernelWidth; x++)
                        {
                            int iw = ow * StrideW - PadW + x * DilationW;
                            cols[i++] = (uint)ih < (uint)height && (uint)iw < (uint)width ? plane[ih * width + iw] : 0f;
                        }
                    }
                }
            }
        }
    }
}
