using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Examples;

/// <summary>
/// The quantization core on its own, PyTorch-style (the "core" command):
/// 1. fake-quantize a tensor, 2. let the QAT qconfigs' FakeQuantize modules observe batches and print their qparams,
/// 3. fuse and prepare a small network for QAT, train it a little on a synthetic task, freeze observers and BatchNorm.
/// </summary>
internal static class CoreApiExample
{
    /// <summary>Runs the walkthrough.</summary>
    public static void Run()
    {
        manual_seed(0);
        Console.WriteLine($"Qat.MLNet example: TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {__version__}");

        using (var scope = NewDisposeScope())
        {
            var x = linspace(-1.5, 1.5, 7, dtype: ScalarType.Float32).requires_grad_(true);
            var y = FakeQuant.PerTensorAffine(x, scale: 0.25f, zeroPoint: 0, quantMin: -4, quantMax: 3);
            y.sum().backward();
            Console.WriteLine("x                 " + Format(x.detach()));
            Console.WriteLine("fake-quant(x)     " + Format(y.detach()) + "   (scale 0.25, levels -4..3)");
            Console.WriteLine("straight-through  " + Format(x.grad!) + "   (1 inside the range, 0 outside)");
        }

        foreach (var backend in new[] { QuantBackend.Fbgemm, QuantBackend.Qnnpack })
        {
            var qconfig = QConfig.GetDefaultQat(backend);
            using var activation = (FakeQuantize)qconfig.Activation.Create();
            using var weight = (FakeQuantize)qconfig.Weight.Create();
            for (int batch = 0; batch < 3; batch++)
            {
                using var scope = NewDisposeScope();
                activation.forward(randn(64, 32) * 2 + 0.5);
                weight.forward(randn(16, 32) * 0.1);
            }
            Console.WriteLine($"{backend}: activation {activation.Dtype.TorchName()} [{activation.QuantMin}, {activation.QuantMax}] " +
                $"scale {activation.Scale[0].item<float>():G6} zero_point {activation.ZeroPoint[0].item<int>()}; " +
                $"weight {weight.Dtype.TorchName()} {weight.QScheme.TorchName()} scales {Format(weight.Scale, 4)}");
        }

        // A small network trained with fake quantization: two Gaussian blobs per class in 20 dimensions, 4 classes.
        {
            var model = nn.Sequential(("quant", new QuantStub()),
                ("fc1", nn.Linear(20, 64)), ("relu1", nn.ReLU()),
                ("fc2", nn.Linear(64, 4)), ("dequant", new DeQuantStub()));
            model.train();
            var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), QConfig.GetDefaultQat(QuantBackend.Fbgemm));
            using var centers = randn(4, 20) * 0.5;
            using var optimizer = optim.SGD(qat.parameters(), 0.05, momentum: 0.9);
            using var lossFunction = nn.CrossEntropyLoss();
            for (int step = 1; step <= 300; step++)
            {
                using var scope = NewDisposeScope();
                var labels = randint(0, 4, new long[] { 64 });
                var x = centers.index_select(0, labels) + randn(64, 20) * 1.5;
                if (step == 200)
                {
                    Quantizer.DisableObserver(qat);      // freeze scales and zero points for the last steps, as PyTorch's recipe does
                    Quantizer.FreezeBatchNormStats(qat);
                }
                optimizer.zero_grad();
                var loss = lossFunction.forward(qat.forward(x), labels);
                loss.backward();
                optimizer.step();
                if (step % 100 == 0)
                    Console.WriteLine($"QAT step {step}: loss {loss.item<float>():F4}");
            }
            var fc1 = qat.named_modules().First(m => m.name == "fc1").module;
            Console.WriteLine($"fc1 after PrepareQat: {fc1.GetType().FullName}, output {((IHasActivationPostProcess)fc1).ActivationPostProcess}");
        }
    }

    private static string Format(Tensor t, int max = 16)
    {
        var values = t.reshape(-1).data<float>().ToArray();
        var shown = values.Take(max).Select(v => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture));
        return "[" + string.Join(", ", shown) + (values.Length > max ? $", ... ({values.Length})" : "") + "]";
    }
}
