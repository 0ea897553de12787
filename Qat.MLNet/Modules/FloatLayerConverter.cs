using Qat.MLNet.Inference;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Makes the engine's float layers (<see cref="FloatLinear"/>, <see cref="FloatConv2d"/>) for mixed precision: of the
/// float layer inside a <see cref="FloatFallback"/>, or of a QAT layer kept float at Convert (its float weights, not
/// their fake-quantized form; BatchNorm folded with its running statistics, as the int8 conversion folds it).
/// </summary>
internal static class FloatLayerConverter
{
    /// <summary>The float layer of <paramref name="module"/>, dequantizing with <paramref name="input"/> and quantizing with <paramref name="output"/>.</summary>
    /// <exception cref="NotSupportedException">The module is not a weighted layer this converter knows.</exception>
    public static QuantizedLayer Convert(string path, nn.Module module, ActivationShape shape, QuantizationParameters input, QuantizationParameters output)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return module switch
        {
            Qat.ConvBn2d m => Conv(path, m.Geometry, Converter.FoldBatchNorm(m.Weight, m.Bias, m.BatchNorm), m is Qat.ConvBnReLU2d, shape, input, output),
            Qat.Conv2d m => Conv(path, m.Geometry, (m.Weight, m.Bias), m is Qat.ConvReLU2d, shape, input, output),
            Qat.Linear m => Linear(path, m.Weight, m.Bias, m is Qat.LinearReLU, shape, input, output),
            TorchSharp.Modules.Linear m => Linear(path, m.weight!, m.bias, false, shape, input, output),
            Intrinsic.LinearReLU m => Linear(path, m.Linear.weight!, m.Linear.bias, true, shape, input, output),
            TorchSharp.Modules.Conv2d m => Conv(path, Qat.ConvGeometry.Of(m), (m.weight!, m.bias), false, shape, input, output),
            Intrinsic.ConvReLU2d m => Conv(path, Qat.ConvGeometry.Of(m.Conv), (m.Conv.weight!, m.Conv.bias), true, shape, input, output),
            Intrinsic.ConvBn2d m => Conv(path, Qat.ConvGeometry.Of(m.Conv), Converter.FoldBatchNorm(m.Conv.weight!, m.Conv.bias, m.BatchNorm), false, shape, input, output),
            Intrinsic.ConvBnReLU2d m => Conv(path, Qat.ConvGeometry.Of(m.Conv), Converter.FoldBatchNorm(m.Conv.weight!, m.Conv.bias, m.BatchNorm), true, shape, input, output),
            _ => throw new NotSupportedException($"Layer '{path}' ({module.GetType().Name}) cannot be kept in float: the engine's float layers are Linear and Conv2d (BatchNorm and ReLU fused)."),
        };
    }

    private static FloatLinear Linear(string path, Tensor weight, Tensor? bias, bool relu, ActivationShape shape, QuantizationParameters input, QuantizationParameters output)
    {
        int outF = (int)weight.shape[0], inF = (int)weight.shape[1];
        if (shape.Size != inF)
            throw new ArgumentException($"Layer '{path}' takes {inF} features but receives {shape} = {shape.Size}.");
        return new FloatLinear(path, inF, outF, Floats(weight), bias is null ? new float[outF] : Floats(bias), input, output, relu);
    }

    private static FloatConv2d Conv(string path, Qat.ConvGeometry g, (Tensor Weight, Tensor? Bias) p, bool relu, ActivationShape shape,
        QuantizationParameters input, QuantizationParameters output)
    {
        if (shape.Channels != g.InChannels)
            throw new ArgumentException($"Layer '{path}' takes {g.InChannels} channels but receives {shape}.");
        int outC = (int)g.OutChannels;
        return new FloatConv2d(path, shape, outC, (int)g.KernelSize[0], (int)g.KernelSize[1], (int)g.Stride[0], (int)g.Stride[1],
            (int)g.Padding[0], (int)g.Padding[1], (int)g.Dilation[0], (int)g.Dilation[1], (int)g.Groups,
            Floats(p.Weight), p.Bias is null ? new float[outC] : Floats(p.Bias), input, output, relu);
    }

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();
}
