using System.Runtime.CompilerServices;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// Average pooling on uint8 values with the input's quantization: <c>q = clamp(round_half_even(sum(x - zp) / d) + zp)</c>,
/// d the window size (with padding when <see cref="CountIncludePad"/>, or the divisor override).
/// </summary>
public sealed class QuantizedAvgPool2d : QuantizedLayer
{
    internal QuantizedAvgPool2d(string name, ActivationShape input, int kernelH, int kernelW, int strideH, int strideW,
        int padH, int padW, bool ceilMode, bool countIncludePad, int? divisorOverride, QuantizationParameters quantization)
        : base(name, input, new ActivationShape(input.Channels,
            PoolingGeometry.OutputSize(input.Height, kernelH, strideH, padH, 1, ceilMode, name),
            PoolingGeometry.OutputSize(input.Width, kernelW, strideW, padW, 1, ceilMode, name)))
    {
        if (divisorOverride is <= 0)
            throw new ArgumentException($"{name}: divisor override ({divisorOverride}) must be positive.");
        (KernelH, KernelW, StrideH, StrideW, PadH, PadW, CeilMode, CountIncludePad, DivisorOverride, Quantization) =
            (kernelH, kernelW, strideH, strideW, padH, padW, ceilMode, countIncludePad, divisorOverride, quantization);
    }

    /// <summary>Window height.</summary>
    public int KernelH { get; }

    /// <summary>Window width.</summary>
    public int KernelW { get; }

    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }

    /// <summary>Vertical padding.</summary>
    public int PadH { get; }

    /// <summary>Horizontal padding.</summary>
    public int PadW { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>A fixed divisor, or null.</summary>
    public int? DivisorOverride { get; }

    /// <summary>Input and output quantization (pooling keeps it).</summary>
    public QuantizationParameters Quantization { get; }

    /// <inheritdoc />
    public override long ParameterBytes => 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        int h = InputShape.Height, w = InputShape.Width, oh = OutputShape.Height, ow = OutputShape.Width;
        int zp = Quantization.ZeroPoint;
        for (int plane = 0; plane < batch * InputShape.Channels; plane++)
        {
            var src = input.Slice(plane * h * w, h * w);
            var dst = output.Slice(plane * oh * ow, oh * ow);
            for (int y = 0; y < oh; y++)
            {
                int y0 = y * StrideH - PadH, y1 = Math.Min(y0 + KernelH, h + PadH);
                int padded = y1 - y0;
                int ys = Math.Max(y0, 0), ye = Math.Min(y1, h);
                for (int x = 0; x < ow; x++)
                {
                    int x0 = x * StrideW - PadW, x1 = Math.Min(x0 + KernelW, w + PadW);
                    int xs = Math.Max(x0, 0), xe = Math.Min(x1, w);
                    int sum = 0;
                    for (int iy = ys; iy < ye; iy++)
                        for (int ix = xs; ix < xe; ix++)
                            sum += src[iy * w + ix] - zp;
                    int divisor = DivisorOverride ?? (CountIncludePad ? padded * (x1 - x0) : (ye - ys) * (xe - xs));
                    dst[y * ow + x] = (byte)RoundAddClamp.Apply(sum * (1f / divisor), zp, Quantization.QuantMin, Quantization.QuantMax);
                }
            }
        }
    }
}
