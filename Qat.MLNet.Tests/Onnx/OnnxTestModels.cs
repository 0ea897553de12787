using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>Small converted int8 networks for the export tests: prepared for QAT, calibrated on random data, converted.</summary>
internal static class OnnxTestModels
{
    /// <summary>Linear-ReLU x2 then Linear, 20 features to 5 outputs.</summary>
    public static QuantizedModel Mlp(QuantBackend backend, int seed = 11)
    {
        manual_seed(seed);
        var model = nn.Sequential(
            ("quant", new QuantStub()),
            ("fc1", nn.Linear(20, 32)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(32, 16)), ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(16, 5)),
            ("dequant", new DeQuantStub()));
        var fused = Quantizer.FuseModules(model, new[] { new[] { "fc1", "relu1" }, new[] { "fc2", "relu2" } });
        return Convert(fused, backend, new ActivationShape(20, 1, 1), () => randn(16, 20) * 2);
    }

    /// <summary>
    /// A CNN with every layer kind and the awkward geometries: a padded conv+BN+ReLU, a ceil-mode MaxPool, a grouped and a
    /// dilated convolution, a padded AvgPool without the padding in its count, a standalone ReLU, Flatten and two Linears.
    /// </summary>
    public static QuantizedModel Cnn(QuantBackend backend, int seed = 5)
    {
        manual_seed(seed);
        var model = nn.Sequential(
            ("quant", new QuantStub()),
            ("conv1", nn.Conv2d(2, 8, 3, padding: 1)), ("bn1", nn.BatchNorm2d(8)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(3, 2, ceil_mode: true)),
            ("group", nn.Conv2d(8, 8, 3, padding: 1, groups: 2)), ("relu2", nn.ReLU()),
            ("dilated", nn.Conv2d(8, 6, 3, padding: 2, dilation: 2)),
            ("pool2", nn.AvgPool2d(3, 2, 1, count_include_pad: false)),
            ("relu3", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(6 * 3 * 3, 16)), ("relu4", nn.ReLU()),
            ("fc2", nn.Linear(16, 4)),
            ("dequant", new DeQuantStub()));
        model.train();
        var fused = Quantizer.FuseModules(model, new[] { new[] { "conv1", "bn1", "relu1" }, new[] { "group", "relu2" }, new[] { "fc1", "relu4" } });
        return Convert(fused, backend, new ActivationShape(2, 11, 11), () => randn(8, 2, 11, 11));
    }

    /// <summary>A CNN with a plain 2x2 average pool (constant divisor), as the default networks have.</summary>
    public static QuantizedModel CnnWithAveragePool(QuantBackend backend, int seed = 7)
    {
        manual_seed(seed);
        var model = nn.Sequential(
            ("quant", new QuantStub()),
            ("conv1", nn.Conv2d(1, 4, 3, padding: 1)), ("relu1", nn.ReLU()),
            ("pool1", nn.AvgPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(4 * 4 * 4, 3)),
            ("dequant", new DeQuantStub()));
        var fused = Quantizer.FuseModules(model, new[] { new[] { "conv1", "relu1" } });
        return Convert(fused, backend, new ActivationShape(1, 8, 8), () => randn(8, 1, 8, 8));
    }

    /// <summary>Random inputs in [-2, 2), <paramref name="batch"/> samples of <paramref name="size"/> values.</summary>
    public static float[] RandomInput(int batch, int size, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch * size).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    private static QuantizedModel Convert(nn.Module<Tensor, Tensor> fused, QuantBackend backend, ActivationShape inputShape, Func<Tensor> batch)
    {
        var qat = Quantizer.PrepareQat(fused, QConfig.GetDefaultQat(backend));
        using (NewDisposeScope())
        {
            for (int i = 0; i < 4; i++)
                qat.forward(batch());
        }
        Quantizer.DisableObserver(qat);
        Quantizer.FreezeBatchNormStats(qat);
        qat.eval();
        using (qat)
            return Quantizer.Convert(qat, inputShape);
    }
}
