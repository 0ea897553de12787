using Qat.MLNet.Inference;

namespace Qat.MLNet.Scoring;

/// <summary>
/// What scores a block of rows for <see cref="BlockScoredCursor"/>: the int8 engine by default; Qat.MLNet.OnnxRuntime
/// plugs in ONNX Runtime running the model's integer-form export (the same integers, faster at large blocks on CPUs
/// with AVX-512 VNNI). Rows arrive checked: the right size, every value finite.
/// </summary>
internal interface IBlockScorer
{
    /// <summary>Scores the first <paramref name="rows"/> rows of <paramref name="inputs"/> into <paramref name="outputs"/> on up to <paramref name="threads"/> threads.</summary>
    void Score(float[] inputs, float[] outputs, int rows, int threads);
}

/// <summary>The int8 engine as a block scorer.</summary>
internal sealed class EngineBlockScorer(QuantizedModel model) : IBlockScorer
{
    /// <inheritdoc/>
    public void Score(float[] inputs, float[] outputs, int rows, int threads) =>
        model.RunParallel(inputs.AsSpan(0, rows * model.InputSize), outputs.AsSpan(0, rows * model.OutputSize), rows, threads);
}
