using System.Text.Json;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Golden;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>FakeQuant.PerTensorAffine / PerChannelAffine against PyTorch's fake_quantize_* on every golden case.</summary>
[TestClass]
[TestCategory("Golden")]
public sealed class FakeQuantGoldenTests
{
    public static IEnumerable<object[]> Cases() => GoldenData.Cases("fake_quantize").Select(c => new object[] { c.GetProperty("name").GetString()!, c });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void FakeQuant_GoldenCase_MatchesPyTorchOutputAndGradient(string name, JsonElement c)
    {
        using var scope = NewDisposeScope();
        var x = GoldenData.ToTensor(c.GetProperty("x")).requires_grad_(true);
        var scale = GoldenData.Floats(c.GetProperty("scale"));
        var zeroPoint = GoldenData.Ints(c.GetProperty("zero_point"));
        int qmin = c.GetProperty("quant_min").GetInt32(), qmax = c.GetProperty("quant_max").GetInt32();
        var axis = c.GetProperty("axis");

        var y = axis.ValueKind == JsonValueKind.Null
            ? FakeQuant.PerTensorAffine(x, scale[0], zeroPoint[0], qmin, qmax)
            : FakeQuant.PerChannelAffine(x, scale, zeroPoint, axis.GetInt64(), qmin, qmax);
        y.backward(new List<Tensor> { ones_like(y) });

        GoldenData.AssertBitEqual(GoldenData.Floats(c.GetProperty("y")), y.detach().data<float>().ToArray(), name + " y");
        GoldenData.AssertBitEqual(GoldenData.Floats(c.GetProperty("grad")), x.grad!.data<float>().ToArray(), name + " grad");
    }
}
