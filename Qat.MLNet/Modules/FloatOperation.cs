using Qat.MLNet.Inference;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>One float layer type: its role, deep copy, default QAT module, and how Convert turns it into an int8 layer.</summary>
/// <param name="Type">The exact TorchSharp (or Qat.MLNet fused) module type.</param>
/// <param name="Role">How it takes part.</param>
/// <param name="Copy">A deep copy (PyTorch: <c>copy.deepcopy</c>, which TorchSharp lacks).</param>
/// <param name="FromFloat">The default QAT module (PyTorch: <c>DEFAULT_QAT_MODULE_MAPPINGS</c>); weighted and fused types only.</param>
/// <param name="Convert">The int8 layer of a <see cref="OperationRole.Converted"/> type; weighted types convert through their QAT module.</param>
/// <param name="Int8Kind">The int8 layer kind of the model file it ends up as, if any.</param>
internal sealed record FloatOperation(
    Type Type,
    OperationRole Role,
    Func<nn.Module, nn.Module<Tensor, Tensor>> Copy,
    Func<nn.Module, QConfig, nn.Module<Tensor, Tensor>>? FromFloat,
    Func<ConversionInput, QuantizedLayer>? Convert,
    QuantizedModelFormat.LayerKind? Int8Kind);
