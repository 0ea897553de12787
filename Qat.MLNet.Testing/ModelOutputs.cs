using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Testing;

/// <summary>The float and fake-quant outputs of a QAT model on the int8 model's inputs (standardized as the int8 model standardizes them).</summary>
internal static class ModelOutputs
{
    public static float[] FakeQuant(QuantizedModel int8, nn.Module<Tensor, Tensor> qat, float[] inputs, int batch) => Forward(int8, qat, inputs, batch);

    /// <summary>With fake quantization off (the float arithmetic of the same weights); the module's switches are restored.</summary>
    public static float[] Float(QuantizedModel int8, nn.Module<Tensor, Tensor> qat, float[] inputs, int batch)
    {
        Quantizer.DisableFakeQuant(qat);
        try
        {
            return Forward(int8, qat, inputs, batch);
        }
        finally
        {
            Quantizer.EnableFakeQuant(qat);
        }
    }

    private static float[] Forward(QuantizedModel int8, nn.Module<Tensor, Tensor> qat, float[] inputs, int batch)
    {
        var values = inputs;
        if (int8.Standardization is { } standardization)
        {
            values = new float[inputs.Length];
            standardization.Apply(inputs, values, batch);
        }
        var shape = int8.InputShape;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(values, shape.Height == 1 && shape.Width == 1 ? [batch, shape.Channels] : [batch, shape.Channels, shape.Height, shape.Width]);
        var y = qat.forward(x).reshape(batch, -1);
        if (y.shape[1] != int8.OutputSize)
            throw new ArgumentException($"The QAT model gives {y.shape[1]} outputs per sample; the int8 model {int8.OutputSize}: they are not the same network.", nameof(qat));
        return y.data<float>().ToArray();
    }
}
