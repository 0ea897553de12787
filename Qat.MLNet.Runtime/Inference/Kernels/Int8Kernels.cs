using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Qat.MLNet.Inference.Kernels;

/// <summary>
/// The int8 kernel dispatch (as MLAS's platform table): one instruction path, chosen once per process from the CPU and
/// handed to every layer when it is built, so nothing re-checks the CPU on the hot path and nothing global can change
/// under a running model. Tests and benchmarks build models for another path with <see cref="QuantizedModel.WithKernelPath"/>.
/// Immutable.
/// </summary>
internal sealed class Int8Kernels
{
    private static readonly Int8Kernels[] Instances = Enum.GetValues<Int8KernelPath>().Select(p => new Int8Kernels(p)).ToArray();

    private Int8Kernels(Int8KernelPath path) => Path = path;

    /// <summary>
    /// The best path this CPU supports, as measured (<c>benchmarks: kernels</c>): on a CPU with AVX-VNNI and AVX-512BW both,
    /// <see cref="Int8KernelPath.AvxVnniAvx512"/> (AVX-VNNI's Linear kernel beat AVX-512BW's at every batch size, and its
    /// convolutions with eight-bit activations; AVX-512BW's seven-bit convolutions beat AVX-VNNI's); AVX-512BW alone next
    /// (its position kernels beat the dot-product GEMM); then AVX-VNNI alone, AVX2, scalar.
    /// </summary>
    public static Int8KernelPath Best { get; } =
        AvxVnni.IsSupported && Avx512BW.IsSupported ? Int8KernelPath.AvxVnniAvx512
        : Avx512BW.IsSupported ? Int8KernelPath.Avx512
        : AvxVnni.IsSupported ? Int8KernelPath.AvxVnni
        : Avx2.IsSupported ? Int8KernelPath.Avx2
        : Int8KernelPath.Scalar;

    /// <summary>The dispatch of <see cref="Best"/>, chosen once per process.</summary>
    public static Int8Kernels ForThisCpu { get; } = For(Best);

    /// <summary>The instruction path.</summary>
    public Int8KernelPath Path { get; }

    /// <summary>
    /// Whether convolutions run the kernels vectorized over output positions (Avx512Conv, AvxVnniConv, Avx2Conv), which read
    /// the weights as int16 pairs or sbyte quads, instead of the dot-product GEMM over padded weight rows; on the AVX-512 and
    /// AVX2 paths batched Linear layers do too (the AVX-VNNI paths have <see cref="LinearOverOutputs"/> instead). Only the
    /// scalar path does not: on AVX2 the position kernels ran the CNN of the kernels benchmark several times faster than
    /// the GEMM (benchmarks/README.md, "The AVX2 path").
    /// </summary>
    public bool VectorizesOverPositions => Path is not Int8KernelPath.Scalar;

    /// <summary>
    /// Whether Linear layers run <see cref="AvxVnniLinear"/> (vectorized over output channels, at every batch size) and pack
    /// their weights for it alone.
    /// </summary>
    public bool LinearOverOutputs => Path is Int8KernelPath.AvxVnni or Int8KernelPath.AvxVnniAvx512;

    /// <summary>
    /// Whether the position kernels take the activations as byte quads (AVX-VNNI always; AVX-512BW and AVX2 for seven-bit
    /// ones) rather than as int16 pairs (AVX-512BW and AVX2 for eight-bit activations, whose vpmaddubsw pair sums could saturate).
    /// </summary>
    public bool PositionQuads(bool sevenBitActivations) => Path is Int8KernelPath.AvxVnni or Int8KernelPath.AvxVnniAvx512 || sevenBitActivations;

    /// <summary>
    /// The position kernel over byte quads on this path: <see cref="AvxVnniConv.Run"/>; <see cref="Avx512Conv.RunSevenBit"/>
    /// on the AVX-512 path and for seven-bit activations on the combined one; <see cref="Avx2Conv.Run{TStep}"/> with
    /// <see cref="Avx2Conv.SevenBitQuads"/> on AVX2. See <see cref="PositionQuads"/> for when it applies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void RunPositionQuads(int* cols, int kQuads, int paddedPositions, int* weightQuads, int weightStride, int outputs, int* bias,
        float* multipliers, int zeroPoint, int low, int high, byte* output, int positions, bool sevenBitActivations)
    {
        if (Path == Int8KernelPath.AvxVnni || (Path == Int8KernelPath.AvxVnniAvx512 && !sevenBitActivations))
            AvxVnniConv.Run(cols, kQuads, paddedPositions, weightQuads, weightStride, outputs, bias, multipliers, zeroPoint, low, high, output, positions);
        else if (Path == Int8KernelPath.Avx2)
            Avx2Conv.Run<Avx2Conv.SevenBitQuads>(cols, kQuads, paddedPositions, weightQuads, weightStride, outputs, bias, multipliers, zeroPoint, low, high, output, positions);
        else
            Avx512Conv.RunSevenBit(cols, kQuads, paddedPositions, weightQuads, weightStride, outputs, bias, multipliers, zeroPoint, low, high, output, positions);
    }

    /// <summary>
    /// The position kernel over int16 pairs (eight-bit activations where <see cref="PositionQuads"/> is false):
    /// <see cref="Avx512Conv.Run"/> on AVX-512, <see cref="Avx2Conv.Run{TStep}"/> with <see cref="Avx2Conv.Int16Pairs"/>
    /// on AVX2. Weight rows are <paramref name="kPairs"/> ints long.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void RunPositionPairs(int* cols, int kPairs, int paddedPositions, int* weightPairs, int outputs, int* bias,
        float* multipliers, int zeroPoint, int low, int high, byte* output, int positions)
    {
        if (Path == Int8KernelPath.Avx2)
            Avx2Conv.Run<Avx2Conv.Int16Pairs>(cols, kPairs, paddedPositions, weightPairs, kPairs, outputs, bias, multipliers, zeroPoint, low, high, output, positions);
        else
            Avx512Conv.Run(cols, kPairs, paddedPositions, weightPairs, outputs, bias, multipliers, zeroPoint, low, high, output, positions);
    }

    /// <summary>Whether the CPU can run <paramref name="path"/>.</summary>
    public static bool IsSupported(Int8KernelPath path) => path switch
    {
        Int8KernelPath.AvxVnni => AvxVnni.IsSupported,
        Int8KernelPath.AvxVnniAvx512 => AvxVnni.IsSupported && Avx512BW.IsSupported,
        Int8KernelPath.Avx512 => Avx512BW.IsSupported,
        Int8KernelPath.Avx2 => Avx2.IsSupported,
        Int8KernelPath.Scalar => true,
        _ => false,
    };

    /// <summary>The dispatch of <paramref name="path"/>.</summary>
    /// <exception cref="NotSupportedException">This CPU cannot run it.</exception>
    public static Int8Kernels For(Int8KernelPath path) => IsSupported(path)
        ? Instances[(int)path]
        : throw new NotSupportedException($"This CPU cannot run the {path} int8 kernels; it supports {string.Join(", ", Enum.GetValues<Int8KernelPath>().Where(IsSupported))}.");

    /// <summary>The uint8 x int8 GEMM on this path (see <see cref="Int8Gemm.Multiply"/>).</summary>
    // Inlined into the kernels' optimized callers: as a call it would run as tier-0 code for the first ~100 ms.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Multiply(byte* x, int xStride, int rows, sbyte* w, int outputs, int k, int* acc, int accStride, bool sevenBitActivations) =>
        Int8Gemm.Multiply(Path, x, xStride, rows, w, outputs, k, acc, accStride, sevenBitActivations);

    /// <inheritdoc />
    public override string ToString() => Path.ToString();
}
