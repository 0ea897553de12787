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
    private readonly int[] _weightPairs;   // [outFeatures, ceil(in / 2)] int16 pairs, for the batched AVX-512 kernel
    private readonly int[] _weightQuads;   // [outFeatures, ceil(in / 4)] sbyte quads, for its seven-bit variant

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
        _weightPairs = WeightPacking.Int16Pairs(weights, outFeatures, inFeatures);
        _weightQuads = WeightPacking.SByteQuads(weights, outFeatures, inFeatures);
    }

    /// <summary>From this batch size on, the AVX-512 path vectorizes over samples instead of over input features.</summary>
    internal const int BatchedThreshold = 16;

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
        if (Int8Gemm.Path == Int8KernelPath.Avx512 && batch >= BatchedThreshold)
        {
            RunBatched(input, output, batch);
            return;
        }
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

    /// <summary>
    /// The batch as the positions of <see cref="Avx512Conv"/>: inputs transposed to int16 pairs [in / 2][batch], outputs
    /// computed channel-major and transposed back to [batch][out].
    /// </summary>
    private unsafe void RunBatched(ReadOnlySpan<byte> input, Span<byte> output, int batch)
    {
        // Seven-bit activations (fbgemm's reduce_range) go four input features per lane into vpmaddubsw; others two, as int16.
        bool sevenBit = Input.QuantMax <= 127;
        int lanes = sevenBit ? 4 : 2;
        int groups = (InFeatures + lanes - 1) / lanes;
        int padded = (batch + Avx512Conv.Lanes - 1) / Avx512Conv.Lanes * Avx512Conv.Lanes;
        int[] cols = ArrayPool<int>.Shared.Rent(groups * padded);
        byte[] channelMajor = ArrayPool<byte>.Shared.Rent(OutFeatures * batch);
        try
        {
            fixed (int* c = cols)
            fixed (byte* x = input)
            fixed (int* pairs = _weightPairs)
            fixed (int* quads = _weightQuads)
            fixed (int* bias = _correctedBias)
            fixed (float* m = _requantizer.Multipliers)
            fixed (byte* tmp = channelMajor)
            {
                // Transpose [batch][in] into lanes of `lanes` consecutive features per sample: one int per (group, sample).
                for (int n = 0; n < batch; n++)
                {
                    byte* row = x + (long)n * InFeatures;
                    int full = InFeatures / lanes;
                    for (int q = 0; q < full; q++)
                        c[(long)q * padded + n] = sevenBit ? *(int*)(row + 4 * q) : row[2 * q] | (row[2 * q + 1] << 16);
                    if (full < groups)
                    {
                        int value = 0;
                        for (int j = 0; j < InFeatures - full * lanes; j++)
                            value |= row[full * lanes + j] << (sevenBit ? 8 * j : 16 * j);
                        c[(long)full * padded + n] = value;
                    }
                }
                if (sevenBit)
                    Avx512Conv.RunSevenBit(c, groups, padded, quads, OutFeatures, bias, m, _requantizer.ZeroPoint, _requantizer.Low, _requantizer.High, tmp, batch);
                else
                    Avx512Conv.Run(c, groups, padded, pairs, OutFeatures, bias, m, _requantizer.ZeroPoint, _requantizer.Low, _requantizer.High, tmp, batch);
                for (int o = 0; o < OutFeatures; o++)
                    for (int n = 0; n < batch; n++)
                        output[n * OutFeatures + o] = tmp[o * batch + n];
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cols);
            ArrayPool<byte>.Shared.Return(channelMajor);
        }
    }
}
