using Qat.MLNet.Quantization;
using TorchSharp;
using static TorchSharp.torch;

// Qat.MLNet main example (grows with the product): PyTorch-style fake quantization in C#.
// 1. fake-quantize a tensor, 2. let the fbgemm QAT qconfig's activation FakeQuantize observe batches,
// 3. print the scale and zero point it learned, and the gradient mask of the straight-through estimator.
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

static string Format(Tensor t, int max = 16)
{
    var values = t.reshape(-1).data<float>().ToArray();
    var shown = values.Take(max).Select(v => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture));
    return "[" + string.Join(", ", shown) + (values.Length > max ? $", ... ({values.Length})" : "") + "]";
}
