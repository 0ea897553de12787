namespace Qat.MLNet.Inference;

/// <summary>
/// One layer of a <see cref="QuantizedModel"/>: uint8 activations in, uint8 activations out, for a batch of samples
/// laid out one after another in NCHW order. Integer-only, except the layers kept in float (<see cref="FloatWeightedLayer"/>),
/// which dequantize, compute in float and quantize again.
/// </summary>
public abstract class QuantizedLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="name">The name of the module it came from (e.g. <c>features.conv1</c>).</param>
    /// <param name="inputShape">Per-sample input shape.</param>
    /// <param name="outputShape">Per-sample output shape.</param>
    private protected QuantizedLayer(string name, ActivationShape inputShape, ActivationShape outputShape)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        InputShape = inputShape;
        OutputShape = outputShape;
    }

    /// <summary>The name of the module it came from.</summary>
    public string Name { get; }

    /// <summary>Per-sample input shape.</summary>
    public ActivationShape InputShape { get; }

    /// <summary>Per-sample output shape.</summary>
    public ActivationShape OutputShape { get; }

    /// <summary>Bytes of weights, biases and parameters this layer holds.</summary>
    public abstract long ParameterBytes { get; }

    /// <summary>Bytes of scratch one sample needs besides input and output (im2col buffers).</summary>
    internal virtual long ScratchBytesPerSample => 0;

    /// <summary>This layer packed for <paramref name="kernels"/>: itself when it has no weights or is packed for them already.</summary>
    internal virtual QuantizedLayer WithKernels(Kernels.Int8Kernels kernels) => this;

    /// <summary>Runs the layer on <paramref name="batch"/> samples.</summary>
    internal abstract void Run(ReadOnlySpan<byte> input, Span<byte> output, int batch, Span<byte> scratch);
}
