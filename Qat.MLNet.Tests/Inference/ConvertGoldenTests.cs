using System.Text.Json;
using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Golden;
using Qat.MLNet.Tests.Modules;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// Quantizer.Convert against the convert section of qat_modules.json: the quantized parameters equal PyTorch's, the int8
/// output is within one output step of the fake-quant (eval) output everywhere, and equal to PyTorch's qnnpack output.
/// Run on every kernel path the CPU supports.
/// </summary>
[TestClass]
[TestCategory("Golden")]
public sealed class ConvertGoldenTests
{
    public static IEnumerable<object[]> Cases() => GoldenData.Cases("qat_modules")
        .Select(c => new object[] { $"{c.GetProperty("backend").GetString()}:{c.GetProperty("module").GetString()}", c });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void Convert_GoldenCase_MatchesPyTorchParametersAndOutputs(string name, JsonElement c)
    {
        bool qnnpack = c.GetProperty("backend").GetString() == "qnnpack";
        string kind = c.GetProperty("module").GetString()!;
        using var model = GoldenModels.PrepareWithQuantizer(kind, c.GetProperty("float_params"), QConfig.GetDefaultQat(qnnpack ? QuantBackend.Qnnpack : QuantBackend.Fbgemm));
        GoldenModels.LoadTrainedState(model, c);
        var convert = c.GetProperty("convert");
        var x = GoldenData.ToTensor(convert.GetProperty("x"));
        bool conv = kind.StartsWith("Conv", StringComparison.Ordinal);
        var quantized = Quantizer.Convert(model, conv ? new ActivationShape((int)x.shape[1], (int)x.shape[2], (int)x.shape[3]) : null);

        Assert.AreEqual((float)convert.GetProperty("input_scale").GetDouble(), quantized.Input.Scale, name + " input scale");
        Assert.AreEqual(convert.GetProperty("input_zero_point").GetInt32(), quantized.Input.ZeroPoint, name + " input zero point");
        var layer = quantized.Layers.Single(l => l is QuantizedLinear or QuantizedConv2d);
        var (weights, scales, output) = layer switch
        {
            QuantizedLinear l => (l.Weights, l.WeightScales, l.Output),
            QuantizedConv2d l => (l.Weights, l.WeightScales, l.Output),
            _ => throw new AssertFailedException("no weighted layer"),
        };
        CollectionAssert.AreEqual(GoldenData.Ints(convert.GetProperty("weight_int8").GetProperty("data")), weights.Select(w => (int)w).ToArray(), name + " int8 weights");
        GoldenData.AssertBitEqual(GoldenData.Floats(convert.GetProperty("weight_scales")), scales, name + " weight scales");
        Assert.AreEqual((float)convert.GetProperty("output_scale").GetDouble(), output.Scale, name + " output scale");
        Assert.AreEqual(convert.GetProperty("output_zero_point").GetInt32(), output.ZeroPoint, name + " output zero point");

        var expectedFakeQuant = GoldenData.Floats(convert.GetProperty("y_fake_quant_eval"));
        var expectedInt8 = GoldenData.Floats(convert.GetProperty("y_int8"));
        var input = x.data<float>().ToArray();
        int batch = (int)x.shape[0];
        foreach (var path in Enum.GetValues<Int8KernelPath>().Where(QuantizedModel.IsKernelPathSupported))
        {
            var y = quantized.WithKernelPath(path).Predict(input, batch);
            for (int i = 0; i < y.Length; i++)
            {
                Assert.IsLessThanOrEqualTo(output.Scale * 1.0001f, Math.Abs(y[i] - expectedFakeQuant[i]), $"{name} {path} [{i}]: int8 {y[i]} vs fake-quant {expectedFakeQuant[i]}");
                if (qnnpack)
                    Assert.AreEqual(expectedInt8[i], y[i], $"{name} {path} [{i}]: int8 {y[i]} vs PyTorch qnnpack {expectedInt8[i]}");
            }
        }
    }
}
