using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// What the layers kept in float inside an int8 model share (mixed precision: a layer whose qconfig was null, or one kept
/// float at Convert): float weights and bias, an optional fused ReLU, and the quantization of the uint8 activations on
/// either side. Such a layer dequantizes its input, computes in float and quantizes its output (PyTorch eager mode:
/// DeQuantStub -> float module -> QuantStub), so the layers around it stay integer.
/// </summary>
public abstract class FloatWeightedLayer : QuantizedLayer
{
    private protected FloatWeightedLayer(string name, ActivationShape inputShape, ActivationShape outputShape, int outChannels, int reduction,
        float[] weights, float[] bias, QuantizationParameters input, QuantizationParameters output, bool fusedReLU)
        : base(name, inputShape, outputShape)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        if (weights.Length != (long)outChannels * reduction || bias.Length != outChannels)
            throw new ArgumentException($"{name}: {weights.Length} weights and {bias.Length} biases do not fit {outChannels} output channels of {reduction} inputs.");
        int bad = NonFinite.IndexOf(weights);
        if (bad >= 0)
            throw new ArgumentException($"{name}: weight {bad} is {weights[bad]}; a float layer's weights must be finite.");
        bad = NonFinite.IndexOf(bias);
        if (bad >= 0)
            throw new ArgumentException($"{name}: bias {bad} is {bias[bad]}; a float layer's bias must be finite.");
        input.Validate($"{name} input quantization");
        output.Validate($"{name} output quantization");
        Weights = weights;
        Bias = bias;
        Input = input;
        Output = output;
        FusedReLU = fusedReLU;
        Reduction = reduction;
    }

    /// <summary>The float weights, one row of <c>reduction</c> values per output channel (shared, not copied).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "The layer's own weights, as QuantizedWeightedLayer.WeightScales.")]
    public float[] Weights { get; }

    /// <summary>The float bias, one per output channel (zeros for a layer without bias).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "The layer's own bias.")]
    public float[] Bias { get; }

    /// <summary>How the incoming levels are dequantized.</summary>
    public QuantizationParameters Input { get; }

    /// <summary>How the float results are quantized for the next layer.</summary>
    public QuantizationParameters Output { get; }

    /// <summary>Whether a ReLU follows in float, before the output quantization.</summary>
    public bool FusedReLU { get; }

    /// <summary>Inputs summed per output value.</summary>
    private protected int Reduction { get; }

    /// <inheritdoc />
    public override long ParameterBytes => 4L * (Weights.Length + Bias.Length);

    /// <summary>Dequantizes <paramref name="levels"/> into <paramref name="values"/>: <c>(q - zeroPoint) x scale</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private protected void DequantizeInput(ReadOnlySpan<byte> levels, Span<float> values)
    {
        var q = Input;
        for (int i = 0; i < levels.Length; i++)
            values[i] = q.Dequantize(levels[i]);
    }

    /// <summary>One output value: bias plus the dot product of a weight row with <paramref name="inputs"/>, the ReLU, then quantized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected byte OutputLevel(int channel, ReadOnlySpan<float> inputs)
    {
        float y = TensorPrimitives.Dot(Weights.AsSpan(channel * Reduction, Reduction), inputs) + Bias[channel];
        if (FusedReLU && !(y > 0f))
            y = 0f;
        return Output.Quantize(y);
    }
}
