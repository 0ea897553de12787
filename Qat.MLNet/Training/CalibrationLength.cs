using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using TorchSharp;

namespace Qat.MLNet.Training;

/// <summary>
/// How a calibration (a merged ensemble's observers, no training step) shows the training rows to the observers. In one
/// chunk when memory allows, so every observer, plain or moving-average, takes the range of all the rows; otherwise in
/// several, as many as a moving average (weight c per chunk) needs to forget its first: it still gives the first the weight
/// (1 - c)^n after n. (One pass in 64-row batches left the range near the first batch's: on rows stored in an order,
/// Boston's by town, the merged network's output clipped a quarter of its values.)
/// </summary>
internal static class CalibrationLength
{
    /// <summary>The weight under which the first chunk's range may stay.</summary>
    internal const double FirstChunkWeight = 0.01;

    /// <summary>The most feature bytes a calibration chunk holds (the widest data's chunk is a training batch).</summary>
    internal const long ChunkBytes = 64L << 20;

    /// <summary>The most rows of a calibration chunk (the activations of each layer grow with it).</summary>
    internal const int MaximumChunkRows = 4096;

    /// <summary>
    /// Rows per calibration chunk for <paramref name="rows"/> rows of <paramref name="inputSize"/> values: all of them up to
    /// <see cref="MaximumChunkRows"/> and <see cref="ChunkBytes"/>, never fewer than a training batch.
    /// </summary>
    public static int ChunkRows(long rows, int inputSize, int batchSize)
    {
        long byMemory = ChunkBytes / (sizeof(float) * Math.Max(1L, inputSize));
        long chunk = Math.Min(Math.Min(rows, MaximumChunkRows), byMemory);
        return (int)Math.Max(Math.Min(batchSize, Math.Max(1L, rows)), chunk);
    }

    /// <summary>
    /// The chunks the observers of <paramref name="model"/> need when the rows take several: 0 when every observer keeps
    /// the plain minimum and maximum (one pass is then all it takes), else as many as the smallest averaging constant
    /// needs to bring its first chunk's weight under <see cref="FirstChunkWeight"/> (459 for PyTorch's default 0.01).
    /// </summary>
    public static int Chunks(torch.nn.Module model)
    {
        double smallest = model.modules().Prepend(model).OfType<FakeQuantizeBase>()
            .Select(fq => fq.ActivationPostProcess switch
            {
                MovingAverageMinMaxObserver m => m.AveragingConstant,
                MovingAveragePerChannelMinMaxObserver p => p.AveragingConstant,
                _ => 1.0,
            })
            .DefaultIfEmpty(1.0)
            .Min();
        return smallest >= 1.0 ? 0 : (int)Math.Ceiling(Math.Log(FirstChunkWeight) / Math.Log(1.0 - smallest));
    }
}
