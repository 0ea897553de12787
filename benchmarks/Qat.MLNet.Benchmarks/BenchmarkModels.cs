using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>The MLP and CNN of ../shared/tools/torch_qat_fmnist.py, and their QAT preparation and conversion.</summary>
public static class BenchmarkModels
{
    /// <summary>784-256-128-10 with ReLUs, between a QuantStub and a DeQuantStub.</summary>
    public static Sequential Mlp() => nn.Sequential(
        ("quant", new QuantStub()),
        ("fc1", nn.Linear(784, 256)), ("r1", nn.ReLU()),
        ("fc2", nn.Linear(256, 128)), ("r2", nn.ReLU()),
        ("fc3", nn.Linear(128, 10)),
        ("dequant", new DeQuantStub()));

    /// <summary>Two conv-bn-relu-pool blocks (16 and 32 channels) and two linear layers, on 1x28x28 inputs.</summary>
    public static Sequential Cnn() => nn.Sequential(
        ("quant", new QuantStub()),
        ("c1", nn.Conv2d(1, 16, 3, padding: 1)), ("b1", nn.BatchNorm2d(16)), ("r1", nn.ReLU()), ("p1", nn.MaxPool2d(2)),
        ("c2", nn.Conv2d(16, 32, 3, padding: 1)), ("b2", nn.BatchNorm2d(32)), ("r2", nn.ReLU()), ("p2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(32 * 7 * 7, 128)), ("r3", nn.ReLU()),
        ("fc2", nn.Linear(128, 10)),
        ("dequant", new DeQuantStub()));

    /// <summary>The input shape of a model kind.</summary>
    public static ActivationShape InputShape(string kind) => kind == "cnn" ? new ActivationShape(1, 28, 28) : ActivationShape.Vector(784);

    /// <summary>Multiply-accumulates per sample of each model's weighted layers.</summary>
    public static long MacsPerSample(string kind) => kind == "cnn"
        ? 28L * 28 * 16 * 9 + 14L * 14 * 32 * 16 * 9 + 32L * 7 * 7 * 128 + 128L * 10
        : 784L * 256 + 256L * 128 + 128L * 10;

    /// <summary>A float model of the kind (copy kept for the float baseline) and its QAT version calibrated on <paramref name="calibration"/>.</summary>
    public static nn.Module<Tensor, Tensor> PrepareAndCalibrate(Sequential floatModel, QuantBackend backend, Tensor calibration)
    {
        floatModel.train();
        var qat = Quantizer.PrepareQat(Quantizer.FuseModules(floatModel), QConfig.GetDefaultQat(backend));
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            for (long i = 0; i < calibration.shape[0]; i += 256)
                qat.forward(calibration.slice(0, i, Math.Min(i + 256, calibration.shape[0]), 1));
        }
        Quantizer.DisableObserver(qat);
        Quantizer.FreezeBatchNormStats(qat);
        qat.eval();
        return qat;
    }
}
