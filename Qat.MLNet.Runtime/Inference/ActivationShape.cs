namespace Qat.MLNet.Inference;

/// <summary>The per-sample shape of an activation in NCHW order (a vector of F features is F x 1 x 1).</summary>
/// <param name="Channels">Channels (or features).</param>
/// <param name="Height">Height (1 for vectors).</param>
/// <param name="Width">Width (1 for vectors).</param>
public readonly record struct ActivationShape(int Channels, int Height, int Width)
{
    /// <summary>Elements per sample.</summary>
    public int Size => checked(Channels * Height * Width);

    /// <summary>A vector of <paramref name="features"/> values.</summary>
    public static ActivationShape Vector(int features) => new(features, 1, 1);

    /// <inheritdoc />
    public override string ToString() => Height == 1 && Width == 1 ? $"[{Channels}]" : $"[{Channels}, {Height}, {Width}]";
}
