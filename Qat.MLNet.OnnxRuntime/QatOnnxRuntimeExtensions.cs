using Qat.MLNet.Scoring;

namespace Qat.MLNet.OnnxRuntime;

/// <summary>Puts ONNX Runtime behind a Qat transformer's batch scoring.</summary>
public static class QatOnnxRuntimeExtensions
{
    /// <summary>
    /// The same transformer, its <c>Transform</c> scoring blocks of rows with ONNX Runtime (see
    /// <see cref="QatOnnxRuntimeTransformer"/>).
    /// </summary>
    /// <param name="transformer">A trained or loaded Qat transformer.</param>
    /// <param name="numberOfThreads">ONNX Runtime's intra-op threads; null takes the transformer's
    /// <c>NumberOfScoringThreads</c>, or every core when that is null too.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numberOfThreads"/> is below 1.</exception>
    public static QatOnnxRuntimeTransformer WithOnnxRuntime(this QatTransformerBase transformer, int? numberOfThreads = null)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        if (numberOfThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(numberOfThreads), numberOfThreads, "numberOfThreads must be at least 1, or null for the transformer's setting.");
        return new QatOnnxRuntimeTransformer(transformer, numberOfThreads ?? transformer.NumberOfScoringThreads ?? Environment.ProcessorCount);
    }
}
