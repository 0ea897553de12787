using Qat.MLNet.Quantization.Observers;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// What every fake-quantize module offers (PyTorch: <c>torch.ao.quantization.FakeQuantizeBase</c>): the switches for
/// observation and fake quantization, the range and scheme, and the qparams Convert uses. Implemented by
/// <see cref="FakeQuantize"/> (qparams from the observer) and <see cref="LearnableFakeQuantize"/> (qparams learned by
/// gradient descent, LSQ); the schedule helpers of <c>Quantizer</c> work on both.
/// </summary>
public abstract class FakeQuantizeBase : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    /// <param name="name">The module's type name.</param>
    private protected FakeQuantizeBase(string name) : base(name)
    {
    }

    /// <summary>The observer (PyTorch: <c>activation_post_process</c>).</summary>
    public abstract ObserverBase ActivationPostProcess { get; }

    /// <summary>The lower end of the integer range.</summary>
    public abstract int QuantMin { get; }

    /// <summary>The upper end of the integer range.</summary>
    public abstract int QuantMax { get; }

    /// <summary>The quantized type.</summary>
    public QuantDType Dtype => ActivationPostProcess.Dtype;

    /// <summary>The quantization scheme.</summary>
    public QScheme QScheme => ActivationPostProcess.QScheme;

    /// <summary>Whether the scheme is per channel.</summary>
    public bool IsPerChannel => QScheme.IsPerChannel();

    /// <summary>The channel axis, or -1 for per-tensor schemes (PyTorch: <c>ch_axis</c>).</summary>
    public int ChAxis => ActivationPostProcess is PerChannelMinMaxObserver perChannel ? perChannel.ChAxis : -1;

    /// <summary>Whether forward updates the observer and, from it, the qparams.</summary>
    public abstract bool ObserverEnabled { get; set; }

    /// <summary>Whether forward fake-quantizes; when false the input passes unchanged.</summary>
    public abstract bool FakeQuantEnabled { get; set; }

    /// <summary>Whether the qparams mean something yet: the observer has seen data (or, when learned, learning is on).</summary>
    public virtual bool HasQParams => ActivationPostProcess.HasObserved;

    /// <summary>Turns observation on or off (PyTorch: <c>enable_observer</c>).</summary>
    public void EnableObserver(bool enabled = true) => ObserverEnabled = enabled;

    /// <summary>Turns observation off (PyTorch: <c>disable_observer</c>): scale and zero point stop following the data.</summary>
    public void DisableObserver() => ObserverEnabled = false;

    /// <summary>Turns fake quantization on or off (PyTorch: <c>enable_fake_quant</c>).</summary>
    public void EnableFakeQuant(bool enabled = true) => FakeQuantEnabled = enabled;

    /// <summary>Turns fake quantization off (PyTorch: <c>disable_fake_quant</c>).</summary>
    public void DisableFakeQuant() => FakeQuantEnabled = false;

    /// <summary>The qparams Convert quantizes with (PyTorch: <c>calculate_qparams</c>), as arrays: one per tensor or per channel.</summary>
    internal abstract (float[] Scales, int[] ZeroPoints) CalculateQParamsArrays();
}
