using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// What the int8 Linear and Conv2d layers share: int8 weights (zero point 0) with per-channel or per-tensor scales, an
/// int32 bias, the input and output quantization, an optional fused ReLU, and the forms the kernels of its dispatch need,
/// packed once when the layer is built and only for that dispatch: for AVX-VNNI Linear layers, sbyte quads along the
/// output channels; otherwise rows padded for the GEMM, which the AVX-VNNI position kernels and the AVX-512 ones for 7-bit
/// activations also read as sbyte quads; int16 pairs for the AVX-512 and AVX2 kernels with 8-bit activations; the bias with the
/// input zero point folded in. The plain weights are not kept: <see cref="Weights"/> rebuilds them from the
/// packed form, so a loaded fbgemm model holds about one byte per weight.
/// </summary>
public abstract class QuantizedWeightedLayer : QuantizedLayer
{
    private protected QuantizedWeightedLayer(string name, ActivationShape inputShape, ActivationShape outputShape, int outChannels, int reduction,
        sbyte[] weights, float[] weightScales, int[] bias, QuantizationParameters input, QuantizationParameters output, bool fusedReLU,
        Int8Kernels? kernels, bool linear)
        : base(name, inputShape, outputShape)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(weightScales);
        ArgumentNullException.ThrowIfNull(bias);
        if (weights.Length != (long)outChannels * reduction || bias.Length != outChannels || (weightScales.Length != 1 && weightScales.Length != outChannels))
            throw new ArgumentException(
                $"{name}: {weights.Length} weights, {weightScales.Length} scales and {bias.Length} biases do not fit {outChannels} output channels of {reduction} inputs.");
        WeightScales = weightScales;
        _outChannels = outChannels;
        Bias = bias;
        Input = input;
        Output = output;
        FusedReLU = fusedReLU;
        Reduction = reduction;
        Kernels = kernels ?? Int8Kernels.ForThisCpu;
        CorrectedBias = WeightPacking.CorrectBias(weights, bias, outChannels, reduction, input.ZeroPoint);
        Requantizer = Requantizer.For(input.Scale, WeightPacking.PerChannel(weightScales, outChannels), output, fusedReLU);
        if (linear && Kernels.LinearOverOutputs)
        {
            // AVX-VNNI Linear: one layout for every batch size, with bias and multipliers padded to its vectors.
            int width = AvxVnniLinear.PaddedOutputs(outChannels);
            OutputQuads = WeightPacking.OutputQuads(weights, outChannels, reduction);
            PaddedBias = WeightPacking.PadTo(CorrectedBias, width);
            PaddedMultipliers = WeightPacking.PadTo(Requantizer.Multipliers, width);
            PaddedWeights = [];
            WeightPairs = [];
            return;
        }
        bool positionKernels = Kernels.VectorizesOverPositions;
        bool quads = Kernels.PositionQuads(SevenBitInput);
        // Padded rows serve the GEMM (small Linear batches on AVX-512 and AVX2, everything on scalar) and, read as quads
        // with a row stride of Kp / 4, the position kernels over quads.
        PaddedWeights = !positionKernels || linear || quads ? WeightPacking.PadRows(weights, outChannels, reduction) : [];
        WeightPairs = positionKernels && !quads ? WeightPacking.Int16Pairs(weights, outChannels, reduction) : [];
    }

    private readonly int _outChannels;

    /// <summary>The kernel dispatch the layer was packed for.</summary>
    internal Int8Kernels Kernels { get; }

    /// <summary>Bytes the layer holds in memory: the weights and every packed form (what a loaded model costs resident).</summary>
    internal long ResidentBytes =>
        PaddedWeights.Length + 4L * (WeightPairs.Length + OutputQuads.Length + PaddedBias.Length + PaddedMultipliers.Length
            + Bias.Length + CorrectedBias.Length + WeightScales.Length + Requantizer.Multipliers.Length);

    /// <summary>Number of int8 weights (output channels x reduction).</summary>
    public long WeightCount => (long)_outChannels * Reduction;

    /// <summary>
    /// The int8 weights, one row of <c>reduction</c> values per output channel (zero point 0): a new array rebuilt from the
    /// packed form on every call (the layer keeps only what its kernels read).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "A copy by design: the layer keeps only its packed form.")]
    public sbyte[] Weights
    {
        get
        {
            var weights = new sbyte[WeightCount];
            int k = Reduction;
            if (PaddedWeights.Length > 0)
            {
                int kp = Int8Gemm.PaddedLength(k);
                for (int o = 0; o < _outChannels; o++)
                    Array.Copy(PaddedWeights, (long)o * kp, weights, (long)o * k, k);
                return weights;
            }
            if (OutputQuads.Length > 0)
            {
                int width = AvxVnniLinear.PaddedOutputs(_outChannels);
                for (int o = 0; o < _outChannels; o++)
                    for (int i = 0; i < k; i++)
                        weights[(long)o * k + i] = (sbyte)(OutputQuads[(i / 4) * width + o] >> (8 * (i % 4)));
                return weights;
            }
            int pairs = (k + 1) / 2;
            for (int o = 0; o < _outChannels; o++)
            {
                for (int i = 0; i < k; i++)
                {
                    int pair = WeightPairs[o * pairs + i / 2];
                    weights[(long)o * k + i] = (sbyte)(short)(i % 2 == 0 ? pair : pair >> 16);
                }
            }
            return weights;
        }
    }

    /// <summary>One weight scale per output channel, or one for the tensor.</summary>
    public float[] WeightScales { get; }

    /// <summary>The int32 bias (scale inputScale x weightScale[c], zero point 0).</summary>
    public int[] Bias { get; }

    /// <summary>Input quantization.</summary>
    public QuantizationParameters Input { get; }

    /// <summary>Output quantization.</summary>
    public QuantizationParameters Output { get; }

    /// <summary>Whether a ReLU is fused into the output clamp.</summary>
    public bool FusedReLU { get; }

    /// <inheritdoc />
    public override long ParameterBytes => WeightCount + 4L * (Bias.Length + WeightScales.Length);

    /// <summary>Inputs summed per output value (in_features, or in_channels / groups x kh x kw).</summary>
    private protected int Reduction { get; }

    /// <summary>Weight rows zero padded to <see cref="Int8Gemm.PaddedLength"/> (empty where the dispatch never runs the GEMM).</summary>
    private protected sbyte[] PaddedWeights { get; }

    /// <summary><c>bias[o] - inputZeroPoint x sum_k w[o, k]</c>.</summary>
    private protected int[] CorrectedBias { get; }

    /// <summary>The per-channel requantization to the output levels.</summary>
    private protected Requantizer Requantizer { get; }

    /// <summary>Weight rows as int16 pairs (the AVX-512 and AVX2 position kernels for 8-bit activations; empty otherwise).</summary>
    private protected int[] WeightPairs { get; }

    /// <summary>The weights as sbyte quads along output channels (<see cref="AvxVnniLinear"/>; empty otherwise).</summary>
    private protected int[] OutputQuads { get; } = [];

    /// <summary><see cref="CorrectedBias"/> padded to whole vectors of channels (<see cref="AvxVnniLinear"/>; empty otherwise).</summary>
    private protected int[] PaddedBias { get; } = [];

    /// <summary>The requantization multipliers padded to whole vectors of channels (<see cref="AvxVnniLinear"/>; empty otherwise).</summary>
    private protected float[] PaddedMultipliers { get; } = [];

    /// <summary>Ints per weight row when <see cref="PaddedWeights"/> is read as sbyte quads (the 7-bit position kernels).</summary>
    private protected int QuadStride => Int8Gemm.PaddedLength(Reduction) / 4;

    /// <summary>Whether every input level is at most 127 (fbgemm's reduce_range), which lets the kernels use vpmaddubsw.</summary>
    private protected bool SevenBitInput => Input.QuantMax <= 127;
}
