using System.Text.Json;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Golden;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>
/// FakeQuantize from QConfig.GetDefaultQat against the input stub's FakeQuantize in qat_modules.json: the qparams after
/// each training step (observer disabled after step 1) and the fake-quantized input.
/// </summary>
[TestClass]
[TestCategory("Golden")]
public sealed class FakeQuantizeGoldenTests
{
    public static IEnumerable<object[]> Cases() => GoldenData.Cases("qat_modules")
        .Select(c => new object[] { $"{c.GetProperty("backend").GetString()}:{c.GetProperty("module").GetString()}", c });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void InputFakeQuantize_GoldenSteps_MatchesPyTorchQParams(string name, JsonElement c)
    {
        var backend = c.GetProperty("backend").GetString() == "qnnpack" ? QuantBackend.Qnnpack : QuantBackend.Fbgemm;
        using var fq = (FakeQuantize)QConfig.GetDefaultQat(backend).Activation.Create();
        int step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var x = GoldenData.ToTensor(s.GetProperty("x"));
            var y = fq.forward(x);
            var expected = s.GetProperty("fake_quant_after").GetProperty("quant.activation_post_process");
            GoldenData.AssertBitEqual(GoldenData.Floats(expected.GetProperty("scale")), fq.Scale.data<float>().ToArray(), $"{name} step {step} scale");
            CollectionAssert.AreEqual(GoldenData.Ints(expected.GetProperty("zero_point")), fq.ZeroPoint.data<int>().ToArray(), $"{name} step {step} zero_point");

            var expectedY = FakeQuant.PerTensorAffine(x, fq.Scale.item<float>(), fq.ZeroPoint.item<int>(), fq.QuantMin, fq.QuantMax);
            CollectionAssert.AreEqual(expectedY.data<float>().ToArray(), y.data<float>().ToArray(), $"{name} step {step} output");
            if (step == 1)
                fq.DisableObserver();
            step++;
        }
    }
}
