using Qat.MLNet.Inference;

namespace Qat.MLNet.Modules;

/// <summary>A QAT module type and the int8 layer Convert makes of it (PyTorch: the quantized module's <c>from_float</c>).</summary>
/// <param name="QatType">The QAT type; subclasses convert the same way.</param>
/// <param name="Convert">Makes the int8 layer.</param>
/// <param name="Int8Kind">The int8 layer kind of the model file.</param>
internal sealed record QatConversion(Type QatType, Func<ConversionInput, QuantizedLayer> Convert, QuantizedModelFormat.LayerKind Int8Kind);
