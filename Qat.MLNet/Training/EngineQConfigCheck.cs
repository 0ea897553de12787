using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using TorchSharp;

namespace Qat.MLNet.Training;

/// <summary>
/// Checks, when a trainer is created, that the int8 engine can run what a qconfig describes: per-tensor quint8
/// activations and symmetric qint8 weights (per tensor, or per channel along axis 0). Without it, such a qconfig would
/// train for epochs and be refused only at Convert.
/// </summary>
internal static class EngineQConfigCheck
{
    /// <exception cref="ArgumentException">The qconfig's activations or weights are of a kind the engine cannot run; the message says which and what would run.</exception>
    public static void Ensure(QConfig qconfig, string paramName)
    {
        using (var activation = qconfig.Activation.Create())
        {
            var (dtype, scheme, _) = Describe(activation);
            if (dtype != QuantDType.QUInt8 || scheme.IsPerChannel())
                throw new ArgumentException(
                    $"The qconfig's activations are {dtype.TorchName()} {scheme.TorchName()}; the int8 engine runs per-tensor quint8 activations " +
                    "(torch.quint8, per_tensor_affine or per_tensor_symmetric), as fbgemm's and qnnpack's defaults are.", paramName);
        }
        using (var weight = qconfig.Weight.Create())
        {
            var (dtype, scheme, axis) = Describe(weight);
            if (dtype != QuantDType.QInt8 || !scheme.IsSymmetric())
                throw new ArgumentException(
                    $"The qconfig's weights are {dtype.TorchName()} {scheme.TorchName()}; the int8 engine runs symmetric qint8 weights " +
                    "(torch.qint8, per_tensor_symmetric or per_channel_symmetric: zero point 0).", paramName);
            if (scheme.IsPerChannel() && axis != 0)
                throw new ArgumentException($"The qconfig's per-channel weight scales are along axis {axis}; the int8 engine needs axis 0 (one scale per output channel).", paramName);
        }
    }

    private static (QuantDType Dtype, QScheme Scheme, int Axis) Describe(torch.nn.Module module) => module switch
    {
        FakeQuantizeBase fq => (fq.Dtype, fq.QScheme, fq.ChAxis),
        PerChannelMinMaxObserver observer => (observer.Dtype, observer.QScheme, observer.ChAxis),
        ObserverBase observer => (observer.Dtype, observer.QScheme, -1),
        _ => throw new ArgumentException($"The qconfig makes a {module.GetType().Name}, neither a FakeQuantize nor an observer."),
    };
}
