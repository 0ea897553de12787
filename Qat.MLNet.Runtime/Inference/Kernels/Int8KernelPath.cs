namespace Qat.MLNet.Inference.Kernels;

/// <summary>The instruction paths of <see cref="Int8Gemm"/>; every path gives the same integers.</summary>
public enum Int8KernelPath
{
    /// <summary>Plain C# loops (any CPU).</summary>
    Scalar,

    /// <summary>
    /// AVX2 without VNNI or AVX-512 (AMD Zen 2/3 class): 256-bit kernels vectorized over output positions for convolutions
    /// and batched Linear layers, a blocked dot-product GEMM for small batches; <c>vpmaddubsw</c> + <c>vpmaddwd</c> when the
    /// activations fit in 7 bits (fbgemm's reduce_range), bytes widened to int16 + <c>vpmaddwd</c> otherwise (no int16 saturation).
    /// </summary>
    Avx2,

    /// <summary>
    /// AVX-VNNI <c>vpdpbusd</c>: 32 uint8 x int8 products summed into 8 int32 lanes per instruction, exact for eight-bit
    /// activations too; Linear layers vectorized over output channels, convolutions over output positions.
    /// </summary>
    AvxVnni,

    /// <summary>
    /// AVX-512BW on 64-byte vectors: <c>vpmaddubsw</c> + <c>vpmaddwd</c> when the activations fit in 7 bits (fbgemm's
    /// reduce_range: pair sums stay below the int16 saturation), bytes widened to int16 + <c>vpmaddwd</c> otherwise.
    /// .NET 10 exposes no AVX-512 VNNI class, so this is the widest exact path on AVX-512 CPUs without AVX-VNNI.
    /// </summary>
    Avx512,

    /// <summary>
    /// Both, each where it measured faster on a CPU that has both (Intel Xeon, Sapphire Rapids class): AVX-VNNI for Linear
    /// layers (<see cref="AvxVnni"/>'s kernel vectorized over output channels) and for convolutions with eight-bit
    /// activations; AVX-512BW's <c>vpmaddubsw</c> kernel for convolutions with seven-bit (fbgemm) activations.
    /// </summary>
    AvxVnniAvx512,
}
