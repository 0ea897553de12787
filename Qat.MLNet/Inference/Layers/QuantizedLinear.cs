using System.Buffers;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// An int8 fully connected layer (PyTorch: <c>torch.ao.nn.quantized.Linear</c>, or <c>LinearReLU</c> when
/// <see cref="FusedReLU"/>): <c>acc[o] = sum_k (x[k] - inZp) * w[o, k] + bias[o]</c>, requantized per output channel.
/// </summary>
public sealed class QuantizedLinear : QuantizedLayer
{
    private readonly sbyte[] _weights;      // [outFeatures, PaddedLength(inFeatures)], zero padded
    private readonly int[] _correctedBias;  // bias[o] - inZp * sum_k w[o, k]
    private readonly Requantizer _requantizer;

    internal QuantizedLinear(string name, int inFeatures, int outFeatures, sbyte[] weights, float[] weightScales, int[] bias,
        QuantizationParameters input, QuantizationParameters output, bool fusedReLU)
        : base(name, ActivationShape.Vector(inFeatures), ActivationShape.Vector(outFeatures))
    {
        if (weights.Length != inFeatures * outFeatures || bias.Length != outFeatures || (weightScales.Length != 1 && weightScales.Length != outFeatures))
            throw new ArgumentException($"{name}: weights, scales or bias do not match [{outFeatures}, {inFeatures}].");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weights = weights;
        WeightScales = weightScales;
        Bias = bias;
        Input = input;
        Output = output;
        FusedReLU = fusedReLU;
        _weights = WeightPacking.PadRows(weights, outFeatures, inFeatures);
        _correctedBias = WeightPacking.CorrectBias(weights, bias, outFeatures, inFeatures, input.ZeroPoint);
        _requantizer = Requantizer.For(input.Scale, WeightPacking.PerChannel(weightScales, outFeatures), output, fusedReLU);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The int8 weights, [out, in] row-major (zero point 0).</summary>
    public sbyte[] Weights { get; }

    /// <summary>One weight scale per output channel, or one for the tensor.</summary>
    public float[] WeightScales { get; }

    /// <summary>The int32 bias (scale inputScale * weightScale[o], zero point 0).</summary>
    public int[] Bias { get; }

    /// <summary>Input quantization.</summary>
    public QuantizationParameters Input { get; }

    /// <summary>Output quantization.</summary>
    public QuantizationParameters Output { get; }

    /// <summary>Whether a ReLU is fused into the output clamp.</summary>
    public bool FusedReLU { get; }

    /// <inheritdoc />
    public override long ParameterBytes => Weights.Length + 4L * (Bias.Length + WeightScales.Length);

    internal override unsafe void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        int[] acc = ArrayPool<int>.Shared.Rent(batch * OutFeatures);
        try
        {
            fixed (byte* x = input)
            fixed (sbyte* w = _weights)
            fixed (int* a = acc)
                Int8Gemm.Multiply(x, InFeatures, batch, w, OutFeatures, InFeatures, a, OutFeatures, Input.QuantMax <= 127);
            for (int n = 0; n < batch; n++)
            {
                int row = n * OutFeatures;
                for (int o = 0; o < OutFeatures; o++)
                    output[row + o] = _requantizer.Apply(acc[row + o] + _correctedBias[o], o);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(acc);
        }
    }
}
