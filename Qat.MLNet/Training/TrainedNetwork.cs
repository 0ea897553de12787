using Qat.MLNet.Reports;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// A fake-quantized network after its training phases, before Convert, with what the report needs from the training:
/// every epoch, each phase's summary, which epochs were kept and the seconds spent.
/// </summary>
/// <param name="Model">The prepared (fused, fake-quantized) network; whoever holds the record disposes it.</param>
/// <param name="Epochs">Every epoch run, in order.</param>
/// <param name="Phases">One summary line per phase.</param>
/// <param name="KeptFloatEpoch">The float epoch whose state was kept when it was not the last one run.</param>
/// <param name="KeptQatEpoch">The QAT epoch whose state was kept when it was not the last one run.</param>
/// <param name="Seconds">Wall time of the training so far.</param>
internal sealed record TrainedNetwork(nn.Module<Tensor, Tensor> Model, IReadOnlyList<QatEpochReport> Epochs, IReadOnlyList<string> Phases,
    int? KeptFloatEpoch, int? KeptQatEpoch, double Seconds);
