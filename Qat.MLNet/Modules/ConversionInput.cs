using Qat.MLNet.Inference;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>What Convert hands a converter: the module, where it sits, what flows into it.</summary>
/// <param name="Path">The module's path in the model, e.g. <c>features.0</c>.</param>
/// <param name="Module">The module (QAT module for weighted layers).</param>
/// <param name="Shape">The per-sample activation shape flowing in.</param>
/// <param name="Input">The quantization of the activations flowing in.</param>
internal readonly record struct ConversionInput(string Path, nn.Module Module, ActivationShape Shape, QuantizationParameters Input);
