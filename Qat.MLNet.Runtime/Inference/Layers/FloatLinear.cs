using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Qat.MLNet.Inference;

/// <summary>
/// A fully connected layer kept in float inside an int8 model (mixed precision): dequantize the input,
/// <c>y = x Wᵀ + b</c> (then ReLU when <see cref="FloatWeightedLayer.FusedReLU"/>), quantize the output.
/// </summary>
public sealed class FloatLinear : FloatWeightedLayer
{
    internal FloatLinear(string name, int inFeatures, int outFeatures, float[] weights, float[] bias,
        QuantizationParameters input, QuantizationParameters output, bool fusedReLU)
        : base(name, ActivationShape.Vector(inFeatures), ActivationShape.Vector(outFeatures), outFeatures, inFeatures, weights, bias, input, output, fusedReLU)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    internal override long ScratchBytesPerSample => 4L * InFeatures;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        var x = MemoryMarshal.Cast<byte, float>(scratch)[..InFeatures];
        for (int n = 0; n < batch; n++)
        {
            DequantizeInput(input.Slice(n * InFeatures, InFeatures), x);
            var row = output.Slice(n * OutFeatures, OutFeatures);
            for (int o = 0; o < OutFeatures; o++)
                row[o] = OutputLevel(o, x);
        }
    }
}
