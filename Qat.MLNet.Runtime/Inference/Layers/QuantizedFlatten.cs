using System.Runtime.CompilerServices;
namespace Qat.MLNet.Inference;

/// <summary>Flattens [C, H, W] to [C * H * W] (NCHW order, as TorchSharp's Flatten); the bytes do not move.</summary>
public sealed class QuantizedFlatten : QuantizedLayer
{
    internal QuantizedFlatten(string name, ActivationShape input) : base(name, input, ActivationShape.Vector(input.Size))
    {
    }

    /// <inheritdoc />
    public override long ParameterBytes => 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
        => input[..(batch * InputShape.Size)].CopyTo(output);
}
