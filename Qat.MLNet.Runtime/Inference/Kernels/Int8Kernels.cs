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
    /// The best path this CPU supports. AVX-512 comes first even where AVX-VNNI exists too: its convolution and batched
    /// Linear kernels (vectorized over positions, see Avx512Conv) beat the dot-product GEMM, which is all AVX-VNNI has here.
    /// </summary>
    public static Int8KernelPath Best { get; } =
        Avx512BW.IsSupported ? Int8KernelPath.Avx512
        : AvxVnni.IsSupported ? Int8KernelPath.AvxVnni
        : Avx2.IsSupported ? Int8KernelPath.Avx2
        : Int8KernelPath.Scalar;

    /// <summary>The dispatch of <see cref="Best"/>, chosen once per process.</summary>
    public static Int8Kernels ForThisCpu { get; } = For(Best);

    /// <summary>The instruction path.</summary>
    public Int8KernelPath Path { get; }

    /// <summary>
    /// Whether convolutions and batched Linear layers run the kernels vectorized over positions (Avx512Conv), which read the
    /// weights as int16 pairs or sbyte quads, instead of the dot-product GEMM over padded weight rows.
    /// </summary>
    public bool VectorizesOverPositions => Path == Int8KernelPath.Avx512;

    /// <summary>Whether the CPU can run <paramref name="path"/>.</summary>
    public static bool IsSupported(Int8KernelPath path) => path switch
    {
        Int8KernelPath.AvxVnni => AvxVnni.IsSupported,
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
