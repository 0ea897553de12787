using System.Runtime.CompilerServices;
using System.Buffers;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// An int8 fully connected layer (PyTorch: <c>torch.ao.nn.quantized.Linear</c>, or <c>LinearReLU</c> when
/// <see cref="QuantizedWeightedLayer.FusedReLU"/>): <c>acc[o] = sum_k (x[k] - inZp) * w[o, k] + bias[o]</c>, requantized per output channel.
/// </summary>
public sealed class QuantizedLinear : QuantizedWeightedLayer
{
    internal QuantizedLinear(string name, int inFeatures, int outFeatures, sbyte[] weights, float[] weightScales, int[] bias,
        QuantizationParameters input, QuantizationParameters output, bool fusedReLU, Int8Kernels? kernels = null)
        : base(name, ActivationShape.Vector(inFeatures), ActivationShape.Vector(outFeatures), outFeatures, inFeatures,
            weights, weightScales, bias, input, output, fusedReLU, kernels, linear: true)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>From this batch size on, the AVX-512 and AVX2 paths vectorize over samples instead of over input features.</summary>
    internal const int BatchedThreshold = 16;

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    internal override QuantizedLayer WithKernels(Int8Kernels kernels) => kernels == Kernels ? this
        : new QuantizedLinear(Name, InFeatures, OutFeatures, Weights, WeightScales, Bias, Input, Output, FusedReLU, kernels);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override unsafe void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        if (Kernels.LinearOverOutputs)
        {
            fixed (byte* x = input)
            fixed (int* w = OutputQuads)
            fixed (int* bias = PaddedBias)
            fixed (float* m = PaddedMultipliers)
            fixed (byte* y = output)
                AvxVnniLinear.Run(x, InFeatures, batch, w, OutFeatures, bias, m, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, y);
            return;
        }
        if (Kernels.VectorizesOverPositions && batch >= BatchedThreshold)
        {
            RunBatched(input, output, batch);
            return;
        }
        int[] acc = ArrayPool<int>.Shared.Rent(batch * OutFeatures);
        try
        {
            fixed (byte* x = input)
            fixed (sbyte* w = PaddedWeights)
            fixed (int* a = acc)
                Kernels.Multiply(x, InFeatures, batch, w, OutFeatures, InFeatures, a, OutFeatures, SevenBitInput);
            for (int n = 0; n < batch; n++)
            {
                int row = n * OutFeatures;
                for (int o = 0; o < OutFeatures; o++)
                    output[row + o] = Requantizer.Apply(acc[row + o] + CorrectedBias[o], o);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(acc);
        }
    }

    /// <summary>
    /// The batch as the positions of the position kernels (<see cref="Avx512Conv"/>, <see cref="Avx2Conv"/>): inputs transposed to byte quads (seven-bit) or int16 pairs,
    /// [in / lanes][batch], outputs computed channel-major and transposed back to [batch][out].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private unsafe void RunBatched(ReadOnlySpan<byte> input, Span<byte> output, int batch)
    {
        // Seven-bit activations (fbgemm's reduce_range) go four input features per lane into vpmaddubsw; others two, as int16.
        bool sevenBit = SevenBitInput;
        int lanes = sevenBit ? 4 : 2;
        int groups = (InFeatures + lanes - 1) / lanes;
        int padded = (batch + Avx512Conv.Lanes - 1) / Avx512Conv.Lanes * Avx512Conv.Lanes;
        int[] cols = ArrayPool<int>.Shared.Rent(groups * padded);
        byte[] channelMajor = ArrayPool<byte>.Shared.Rent(OutFeatures * batch);
        try
        {
            fixed (int* c = cols)
            fixed (byte* x = input)
            fixed (int* pairs = WeightPairs)
            fixed (sbyte* paddedRows = PaddedWeights)
            fixed (int* bias = CorrectedBias)
            fixed (float* m = Requantizer.Multipliers)
            fixed (byte* tmp = channelMajor)
            {
                // Transpose [batch][in] into lanes of `lanes` consecutive features per sample: one int per (group, sample).
                // Group by group, so the writes run along a row of the column buffer and the reads revisit the same
                // cache line of every sample for 16 / lanes groups in a row (sample by sample, each write missed L1).
                int full = InFeatures / lanes;
                for (int q = 0; q < full; q++)
                {
                    int* dst = c + (long)q * padded;
                    byte* src = x + (long)lanes * q;
                    if (sevenBit)
                    {
                        for (int n = 0; n < batch; n++, src += InFeatures)
                            dst[n] = *(int*)src;
                    }
                    else
                    {
                        for (int n = 0; n < batch; n++, src += InFeatures)
                            dst[n] = src[0] | (src[1] << 16);
                    }
                }
                if (full < groups)
                {
                    for (int n = 0; n < batch; n++)
                    {
                        byte* row = x + (long)n * InFeatures;
                        int value = 0;
                        for (int j = 0; j < InFeatures - full * lanes; j++)
                            value |= row[full * lanes + j] << (sevenBit ? 8 * j : 16 * j);
                        c[(long)full * padded + n] = value;
                    }
                }
                if (sevenBit)
                    Kernels.RunPositionQuads(c, groups, padded, (int*)paddedRows, QuadStride, OutFeatures, bias, m, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, tmp, batch, sevenBitActivations: true);
                else
                    Kernels.RunPositionPairs(c, groups, padded, pairs, OutFeatures, bias, m, Requantizer.ZeroPoint, Requantizer.Low, Requantizer.High, tmp, batch);
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
