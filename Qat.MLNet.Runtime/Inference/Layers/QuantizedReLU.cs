using System.Runtime.CompilerServices;
namespace Qat.MLNet.Inference;

/// <summary>ReLU on uint8 values: <c>max(q, zeroPoint)</c> (the level of 0.0), quantization unchanged.</summary>
public sealed class QuantizedReLU : QuantizedLayer
{
    internal QuantizedReLU(string name, ActivationShape shape, int zeroPoint) : base(name, shape, shape) => ZeroPoint = zeroPoint;

    /// <summary>The level of 0.0.</summary>
    public int ZeroPoint { get; }

    /// <inheritdoc />
    public override long ParameterBytes => 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal override void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch)
    {
        byte zp = (byte)ZeroPoint;
        for (int i = 0; i < batch * InputShape.Size; i++)
            output[i] = input[i] > zp ? input[i] : zp;
    }
}
