namespace Qat.MLNet.Quantization;

/// <summary>
/// The integer backend a quantization configuration targets (PyTorch's <c>backend</c> argument of
/// <c>get_default_qat_qconfig</c>).
/// </summary>
public enum QuantBackend
{
    /// <summary>x86 servers (PyTorch <c>"fbgemm"</c>): per-channel symmetric int8 weights, 7-bit (reduce_range) uint8 activations.</summary>
    Fbgemm,

    /// <summary>Mobile and ARM (PyTorch <c>"qnnpack"</c>): per-tensor symmetric int8 weights, full 8-bit uint8 activations.</summary>
    Qnnpack,

    /// <summary>PyTorch's <c>"x86"</c> backend; in PyTorch 1.13's <c>version=0</c> defaults, the same configuration as <see cref="Fbgemm"/>.</summary>
    X86,
}
